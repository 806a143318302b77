"""The data layer: every read of the one table, and the one way to write to it.

`giftplans.store.get_store()` hands out one `Store` per process (the cookbook's
`get_dal_handler`). Its reads return typed items (`giftplans.store.models`), never raw
attribute maps, and are consistent where a decision follows from them; throttling and
timeouts become `UpstreamUnavailable` (503). `write(build)` is the only way anything is
written (`giftplans.store.writes`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pynamodb.connection import Connection
from pynamodb.expressions.condition import Condition

from giftplans.seats import SeatState
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.writes import Steps, Written, read_errors, run

Key = tuple[str, str]


class Store:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    @property
    def connection(self) -> Connection:
        """The models' own connection: one botocore session and client per process, not two (~50 ms cold)."""
        return m.Item._get_connection().connection

    # ---- writes -----------------------------------------------------------------------------------------

    def write(self, build: Callable[[Steps], None]) -> Written:
        """Run one named write (see `giftplans.store.writes`); `Refused` when a condition failed."""
        return run(self.connection, build)

    # ---- single items -----------------------------------------------------------------------------------

    def purchase(self, purchase_id: str) -> m.Purchase | None:
        return self._get(m.Purchase, k.purchase_pk(purchase_id), k.PURCHASE_SK)

    def seat(self, purchase_id: str, seat_id: str, *, consistent: bool = True) -> m.Seat | None:
        return self._get(m.Seat, k.purchase_pk(purchase_id), k.seat_sk(seat_id), consistent=consistent)

    def entitlement(self, sub: str) -> m.Entitlement | None:
        return self._get(m.Entitlement, k.account_pk(sub), k.ENTITLEMENT_SK)

    def profile(self, sub: str) -> m.Profile | None:
        return self._get(m.Profile, k.account_pk(sub), k.PROFILE_SK)

    def audit_event(self, pk: str, sk: str) -> m.AuditEvent | None:
        return self._get(m.AuditEvent, pk, sk)

    def mail_marker(self, key: str) -> m.MailMarker | None:
        return self._get(m.MailMarker, k.mail_pk(key), k.MAIL_SK)

    def sweep_cursor(self) -> m.SweepCursor | None:
        return self._get(m.SweepCursor, k.SWEEP_PK, k.CURSOR_SK)

    def purchase_for_payment(self, payment_intent: str) -> m.Purchase | None:
        """The purchase a payment intent paid for, through its `PAYMENT#` lookup (two reads)."""
        lookup = self._get(m.PaymentLookup, k.payment_pk(payment_intent), k.PAYMENT_SK)
        return self.purchase(lookup.purchase_id) if lookup is not None else None

    def account_for_customer(self, customer: str) -> str | None:
        """The account a Stripe customer belongs to (`CUSTOMER#` lookup); an eventually consistent read."""
        lookup = self._get(m.CustomerLookup, k.customer_pk(customer), k.CUSTOMER_SK, consistent=False)
        return lookup.sub if lookup is not None else None

    def many(self, *keys: Key) -> dict[Key, m.Item]:
        """One BatchGetItem (consistent) of the given keys; missing items are absent from the answer."""
        with read_errors():
            return {(item.PK, item.SK): item for item in m.Item.batch_get(list(keys), consistent_read=True)}

    # ---- a purchase's partition ---------------------------------------------------------------------------

    def purchase_and_seats(self, purchase_id: str) -> tuple[m.Purchase | None, list[m.Seat]]:
        """The purchase and every seat, from one Query (SK >= PURCHASE: the purchase sorts first)."""
        purchase: m.Purchase | None = None
        seats: list[m.Seat] = []
        with read_errors():
            for item in m.Item.query(
                k.purchase_pk(purchase_id), m.Item.SK >= k.PURCHASE_SK, consistent_read=True
            ):
                if isinstance(item, m.Purchase):
                    purchase = item
                elif isinstance(item, m.Seat):
                    seats.append(item)
        return purchase, seats

    def seats_page(
        self,
        purchase_id: str,
        *,
        limit: int,
        after: str | None = None,
        condition: Condition | None = None,
        scan_up_to: int = 1000,
    ) -> tuple[list[m.Seat], str | None]:
        """One page of a purchase's seats in seat order (one Query), and the seat id to go on after, or None.

        Without `condition` the Query reads exactly `limit` seats. With one (a state or address
        filter), DynamoDB filters after reading, so the Query reads up to `scan_up_to` seats and the
        first `limit` matches are the page: a sparse filter over a large purchase can give a short
        page that still has a next one. Still one request.
        """
        start = {"PK": {"S": k.purchase_pk(purchase_id)}, "SK": {"S": k.seat_sk(after)}} if after else None
        reads = limit + 1 if condition is None else max(scan_up_to, limit + 1)
        with read_errors():
            page = m.Item._get_connection().query(
                k.purchase_pk(purchase_id),
                range_key_condition=m.Item.SK.startswith(k.SEAT_PREFIX),
                filter_condition=condition,
                consistent_read=True,
                exclusive_start_key=start,
                limit=reads,
            )
        seats = [s for s in map(m.Item.from_raw_data, page.get("Items", [])) if isinstance(s, m.Seat)]
        last_read: str | None = (page.get("LastEvaluatedKey") or {}).get("SK", {}).get("S")
        if len(seats) > limit:
            return seats[:limit], seats[limit - 1].seat_id
        if last_read is None:
            return seats, None
        return seats, last_read.removeprefix(k.SEAT_PREFIX)

    def free_markers(self, purchase_id: str, limit: int) -> list[int]:
        """The lowest `limit` seat numbers with a FreeSeat marker (one Query, consistent)."""
        with read_errors():
            page = m.Item._get_connection().query(
                k.purchase_pk(purchase_id),
                range_key_condition=m.Item.SK.startswith(k.FREE_PREFIX),
                consistent_read=True,
                limit=limit,
            )
        return [int(raw["SK"]["S"].removeprefix(k.FREE_PREFIX)) for raw in page.get("Items", [])]

    def available_from(self, purchase_id: str, first: int, wanted: int) -> tuple[list[int], int]:
        """The first `wanted` available seats numbered `first` or more, and the highest number read.

        Used only when support cancelled seats that were never handed out (`holes`): reads seat
        by seat from `first` on, page by page, until `wanted` are found.
        """
        found: list[int] = []
        last = first - 1
        start: dict[str, Any] | None = None
        with read_errors():
            while len(found) < wanted:
                page = m.Item._get_connection().query(
                    k.purchase_pk(purchase_id),
                    range_key_condition=m.Item.SK.between(
                        k.seat_sk(k.seat_id_of(first)), k.SEAT_PREFIX + "\uffff"
                    ),
                    consistent_read=True,
                    exclusive_start_key=start,
                )
                for raw in page.get("Items", []):
                    number = int(raw["seat_id"]["S"])
                    if raw.get("state", {}).get("S") == SeatState.AVAILABLE.value and len(found) < wanted:
                        found.append(number)
                        last = number
                start = page.get("LastEvaluatedKey")
                if start is None:
                    break
        return found, last

    def seat_ids_in(self, purchase_id: str, states: list[str]) -> list[str]:
        """Ids of the purchase's seats in `states` (a filtered Query, page by page; matches only)."""
        return [seat.seat_id for seat in self.seats_in(purchase_id, states)]

    def seats_in(self, purchase_id: str, states: list[str]) -> list[m.Seat]:
        """The purchase's seats in `states`, with their state, version and holder only (a filtered Query)."""
        from giftplans.store.transitions import in_states  # transitions imports the store

        with read_errors():
            return [
                seat
                for seat in m.Item.query(
                    k.purchase_pk(purchase_id),
                    m.Item.SK.startswith(k.SEAT_PREFIX),
                    filter_condition=in_states(*states),
                    consistent_read=True,
                    attributes_to_get=[
                        "type",
                        "seat_id",
                        "purchase_id",
                        "PK",
                        "SK",
                        "state",
                        "version",
                        "recipient_sub",
                    ],
                )
                if isinstance(seat, m.Seat)
            ]

    def holders(self, purchase_id: str, keys: Iterable[str] | None = None) -> dict[str, m.Holder]:
        """Holder items by address key: those of `keys` (one BatchGetItem), or all of them (one Query)."""
        with read_errors():
            if keys is not None:
                wanted = [(k.purchase_pk(purchase_id), k.holder_sk(key)) for key in keys]
                items: Iterable[m.Item] = m.Item.batch_get(wanted, consistent_read=True) if wanted else []
            else:
                items = m.Item.query(
                    k.purchase_pk(purchase_id), m.Item.SK.startswith(k.HOLDER_PREFIX), consistent_read=True
                )
            return {
                item.SK.removeprefix(k.HOLDER_PREFIX): item for item in items if isinstance(item, m.Holder)
            }

    def seat_with_trail(
        self, purchase_id: str, seat_id: str
    ) -> tuple[m.Purchase | None, m.Seat | None, list[m.AuditEvent]]:
        """The purchase, one seat and the audit events naming it, from one Query (oldest first).

        Events (`EVENT#`) sort before the purchase (`PURCHASE`) and its seats (`SEAT#`): the Query
        runs from the first event to this seat's key, and a filter keeps the purchase, this seat and
        the events whose `seat_ids` hold it (other seats are read and dropped by DynamoDB).
        """
        purchase: m.Purchase | None = None
        seat: m.Seat | None = None
        events: list[m.AuditEvent] = []
        wanted = (
            (m.Item.type == m.Purchase)
            | (m.Seat.seat_id == seat_id)
            | m.AuditEvent.seat_ids.contains(seat_id)
        )
        with read_errors():
            for item in m.Item.query(
                k.purchase_pk(purchase_id),
                m.Item.SK.between(k.EVENT_PREFIX, k.seat_sk(seat_id)),
                filter_condition=wanted,
                consistent_read=True,
            ):
                if isinstance(item, m.Purchase):
                    purchase = item
                elif isinstance(item, m.Seat) and item.seat_id == seat_id:
                    seat = item
                elif isinstance(item, m.AuditEvent):
                    events.append(item)
        return purchase, seat, events

    def purchase_with_seats(self, purchase_id: str) -> list[m.Item]:
        """The purchase, its close job and its seats: one Query (adjacent sort keys), page by page."""
        with read_errors():
            return list(
                m.Item.query(
                    k.purchase_pk(purchase_id),
                    m.Item.SK.between(k.PURCHASE_SK, k.SEAT_PREFIX + "\uffff"),
                    consistent_read=True,
                )
            )

    def seats_of(self, purchase_id: str) -> list[m.Seat]:
        return self._partition(m.Seat, purchase_id, k.SEAT_PREFIX)

    def audit_trail(self, purchase_id: str) -> list[m.AuditEvent]:
        """The purchase's audit events, oldest first."""
        return self._partition(m.AuditEvent, purchase_id, k.EVENT_PREFIX)

    def attention(self) -> list[m.Attention]:
        """Every unfulfillable checkout recorded for support (one small partition), by session id."""
        with read_errors():
            return [
                item
                for item in m.Item.query(k.ATTENTION_PK, consistent_read=True)
                if isinstance(item, m.Attention)
            ]

    # ---- indexes ------------------------------------------------------------------------------------------

    def buyer_purchases(
        self, buyer_id: str, limit: int, start: dict[str, dict[str, Any]] | None
    ) -> tuple[list[m.Purchase], dict[str, dict[str, Any]] | None]:
        """One page of a buyer's purchases (GSI1 projection), newest first, and the key to go on from."""
        with read_errors():
            results = m.Item.buyer_index.query(
                k.buyer_gsi(buyer_id),
                scan_index_forward=False,
                limit=limit,
                page_size=limit,
                last_evaluated_key=start,
            )
            page = [item for item in results if isinstance(item, m.Purchase)]
            return page, results.last_evaluated_key

    def keys_by_email(self, email_key: str, limit: int) -> list[Key]:
        """Keys of the purchases and seats an address key names (GSI3, keys only).

        The index is keys-only (no `type`), so it is read raw: PynamoDB's model query filters on `type`.
        """
        with read_errors():
            page = m.Item._get_connection().query(k.email_gsi(email_key), index_name="GSI3", limit=limit)
        return [(raw["PK"]["S"], raw["SK"]["S"]) for raw in page.get("Items", [])]

    def all_keys_by_email(self, email_key: str) -> list[Key]:
        """Every key GSI3 holds for an address key, page by page (privacy: all that names the address)."""
        keys: list[Key] = []
        start: Any = None
        with read_errors():
            while True:
                page = m.Item._get_connection().query(
                    k.email_gsi(email_key), index_name="GSI3", exclusive_start_key=start
                )
                keys += [(raw["PK"]["S"], raw["SK"]["S"]) for raw in page.get("Items", [])]
                start = page.get("LastEvaluatedKey")
                if not start:
                    return keys

    def mentions_in(self, purchase_id: str) -> list[m.Mention]:
        """The purchase's audit mentions of addresses (`MENTION#` items of its partition)."""
        return self._partition(m.Mention, purchase_id, k.MENTION_PREFIX)

    def items(self, keys: Iterable[Key]) -> list[m.Item]:
        """Eventually consistent BatchGetItem of `keys` (support's look-ups)."""
        wanted = list(keys)
        if not wanted:
            return []
        with read_errors():
            return list(m.Item.batch_get(wanted))

    def due(self, day: str, shard: int) -> Iterator[m.Purchase]:
        """The due index partition of one day and shard, page by page (a Query, never a Scan)."""
        for item in m.Item.due_index.query(k.due_gsi(day, shard)):
            if isinstance(item, m.Purchase):
                yield item

    def sends_due(self, shard: int, until: str) -> Iterator[m.Seat]:
        """Seats of one `SEND#` shard due at or before `until` (SPEC 8.1): a Query, never a Scan.

        Each answer carries the index's projection (keys, `due_kind`, `purchase_id`), not the whole seat.
        """
        due_by = k.send_gsi_sk(until) >= m.DueIndex.GSI2SK
        with read_errors():
            for item in m.Item.due_index.query(k.send_gsi(shard), range_key_condition=due_by):
                if isinstance(item, m.Seat):
                    yield item

    def invited_addresses(self, purchase_id: str) -> list[str]:
        """Addresses of the purchase's seats still `invited` (issue 16: the buyer's reminder); one Query."""
        from giftplans.store.transitions import in_states  # transitions imports the store

        with read_errors():
            return [
                str(seat.recipient_email)
                for seat in m.Item.query(
                    k.purchase_pk(purchase_id),
                    m.Item.SK.startswith(k.SEAT_PREFIX),
                    filter_condition=in_states(SeatState.INVITED.value),
                    attributes_to_get=["type", "recipient_email", "PK", "SK"],
                )
                if isinstance(seat, m.Seat) and seat.recipient_email
            ]

    def unsent(self, day: str, start: str, end: str) -> Iterator[str]:
        """Keys of the notices parked on `day` between the ISO instants `start` and `end` (inclusive).

        In the order parked: the sparse `UNSENT#<day>` GSI2 partition, page by page (a Query, not a Scan).
        """
        condition = m.Item.GSI2SK.between(start, end + "~")  # "~" sorts after every key character
        # Pages of 100 (BatchGetItem's size): a redrive that stops early has read one page, not the day.
        for item in m.Item.due_index.query(k.unsent_gsi(day), condition, page_size=100):
            if isinstance(item, m.MailMarker):
                yield item.PK.removeprefix("MAIL#")

    # ---- helpers ----------------------------------------------------------------------------------------

    def _get[T: m.Item](self, model: type[T], pk: str, sk: str, *, consistent: bool = True) -> T | None:
        with read_errors():
            try:
                return model.get(pk, sk, consistent_read=consistent)
            except model.DoesNotExist:
                return None

    def _partition[T: m.Item](self, model: type[T], purchase_id: str, prefix: str) -> list[T]:
        with read_errors():
            return [
                item
                for item in m.Item.query(
                    k.purchase_pk(purchase_id), m.Item.SK.startswith(prefix), consistent_read=True
                )
                if isinstance(item, model)
            ]
