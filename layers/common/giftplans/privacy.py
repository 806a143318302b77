"""What the service keeps about an address, and its erasure (SPEC 8.10; docs/privacy.md).

Everything that names an address is found by the address's key (`tokens.email_key`, a
keyed hash) on GSI3, `EMAIL#<key>`: purchases it bought, seats it holds or was invited
to, the profile that verified it, the audit events that mask it (through `Mention`
items written with them) and the mail markers of what was sent to it. A purchase's
seats carry a copy of its buyer's address, found through the purchase. Nothing is a
Scan.

Erasure replaces each copy of the address with the tombstone `erased` (or removes it
where it is optional), drops the item's GSI3 key, and keeps states, counts and money.
Every write is conditional on the address still being there, so erasing twice changes
nothing, and a run that fails half way is finished by the next: each item loses its
address and its index key in one write, and items reached through another (a bought
purchase's seats) are done before the item that leads to them. The erasure of a seat
or a purchase leaves an audit event that names no address.

The sweep erases the recipients of an ended purchase `erase_after_days` after its
term (`erase_ended`, the purchase's last milestone, `terms.ERASE`).

Stripe keeps its own copy (the Checkout Session's and the customer's email): the
operator deletes the customer there (docs/runbook.md, "Erasing a person").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from giftplans import audit, clock, terms, tokens
from giftplans.errors import Invalid
from giftplans.observability import logger
from giftplans.outbox import parked
from giftplans.seats import Touch
from giftplans.settings import get as settings
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.transitions import seat_key, touch
from giftplans.store.writes import Steps, stamp, written
from giftplans.views import AuditEventView, Json, SupportPurchaseView, SupportSeatView

ERASED = "erased"  # the tombstone that takes an address's place
ERASE = Touch.ERASE.value  # the `last_action` of an erasure's writes
MAX_ADDRESS = 320
COUNTED = ("purchases", "seats", "profiles", "audit_events", "mentions", "mail_markers")


def _address(email: str | None) -> str:
    address = (email or "").strip()
    if "@" not in address or len(address) > MAX_ADDRESS:
        raise Invalid("That is not an email address.", code="invalid_email")
    return address


# ---- what is kept ---------------------------------------------------------------------------------------


class Found(NamedTuple):
    """Every item that names an address, by kind."""

    keys: list[str]  # the address's key under every kid of the ring (tokens.email_keys)
    purchases: list[m.Purchase]
    seats: list[m.Seat]
    profiles: list[m.Profile]
    mentions: list[m.Mention]
    markers: list[m.MailMarker]


def _find(address: str) -> Found:
    keys = tokens.email_keys(address)
    store = get_store()
    items = store.items([found for key in keys for found in store.all_keys_by_email(key)])
    purchases = sorted((i for i in items if isinstance(i, m.Purchase)), key=lambda p: p.created_at)
    seats = sorted((i for i in items if isinstance(i, m.Seat)), key=lambda s: (s.purchase_id, s.seat_id))
    profiles = {i.sub: i for i in items if isinstance(i, m.Profile)}
    # Profiles written before they carried GSI3 are reached through the accounts that bought or hold.
    subs = {p.buyer_id for p in purchases} | {s.recipient_sub for s in seats if s.recipient_sub}
    missing = sorted(subs - set(profiles))
    for item in store.items((k.account_pk(sub), k.PROFILE_SK) for sub in missing):
        if isinstance(item, m.Profile) and _profile_fields(item, address):
            profiles[item.sub] = item
    mentions = sorted((i for i in items if isinstance(i, m.Mention)), key=lambda i: (i.PK, i.SK))
    markers = sorted((i for i in items if isinstance(i, m.MailMarker)), key=lambda i: i.PK)
    return Found(keys, purchases, seats, [profiles[s] for s in sorted(profiles)], mentions, markers)


def _profile_fields(profile: m.Profile, address: str) -> list[str]:
    """Which of the profile's address fields hold `address`."""
    wanted = tokens.normalise_email(address)
    return [
        name
        for name in ("verified_email", "verify_email")
        if (value := getattr(profile, name)) and tokens.normalise_email(value) == wanted
    ]


class PersonRecord(NamedTuple):
    """`GET /admin/people`: all that is kept about an address."""

    purchases: list[SupportPurchaseView]
    seats: list[tuple[str, SupportSeatView]]
    profiles: list[Json]
    audit_mentions: list[Json]
    mail_markers: list[Json]

    def as_json(self) -> Json:
        return {
            "purchases": [p.as_json() for p in self.purchases],
            "seats": [{"purchase_id": pid, **s.as_json()} for pid, s in self.seats],
            "profiles": self.profiles,
            "audit_mentions": self.audit_mentions,
            "mail_markers": self.mail_markers,
        }


def kept(email: str | None) -> PersonRecord:
    """Everything the service keeps that names `email` (support's look-up before an erasure)."""
    address = _address(email)
    found = _find(address)
    now = clock.now()
    events = {
        (e.PK, e.SK): e
        for e in get_store().items((mention.PK, mention.event_sk) for mention in found.mentions)
        if isinstance(e, m.AuditEvent)
    }
    mentions = []
    for mention in found.mentions:
        event = events.get((mention.PK, mention.event_sk))
        mentions.append(
            {
                "purchase_id": mention.purchase_id,
                "seat_id": mention.seat_id,
                "field": mention.field,
                "event": AuditEventView.of(event).as_json() if event is not None else None,
            }
        )
    return PersonRecord(
        [SupportPurchaseView.of(p, now) for p in reversed(found.purchases)],
        [(s.purchase_id, SupportSeatView.of(s, now)) for s in found.seats],
        [
            {
                "sub": p.sub,
                "verified_email": p.verified_email,
                "verify_email": p.verify_email,
                "stripe_customer": p.stripe_customer,
                "plans_bought": int(p.plans_bought or 0),
            }
            for p in found.profiles
        ],
        mentions,
        [
            {
                "key": marker.PK.removeprefix("MAIL#"),
                "status": marker.status,
                "at": marker.at,
                "message_id": marker.message_id,
            }
            for marker in found.markers
        ],
    )


# ---- erasure --------------------------------------------------------------------------------------------


class Erased(NamedTuple):
    """`POST /admin/people/erase`: how many items of each kind lost the address (all 0 the second time)."""

    changed: dict[str, int]

    def as_json(self) -> Json:
        return {"changed": self.changed}


def erase(email: str | None, actor: str) -> Erased:
    """Remove `email` from everything that keeps it; idempotent and resumable (module docstring)."""
    address = _address(email)
    found = _find(address)
    now = clock.now()
    changed = dict.fromkeys(COUNTED, 0)
    for mention in found.mentions:
        on_marker = parked.is_marker_mention(mention)  # a parked email names the address (outbox.parked)
        scrubbed, deleted = parked.scrub(mention) if on_marker else _scrub(mention)
        changed["mail_markers" if on_marker else "audit_events"] += scrubbed
        changed["mentions"] += deleted
    for marker in found.markers:
        changed["mail_markers"] += _erase_marker(marker, found.keys, now)
    for profile in found.profiles:  # before the seats and purchases that lead to the older ones
        changed["profiles"] += _erase_profile(profile, address, actor, now)
    for seat in found.seats:
        changed["seats"] += _erase_recipient(seat, found.keys, actor, now)
    for purchase in found.purchases:
        seats, done = _erase_buyer(purchase, found.keys, actor, now)
        changed["seats"] += seats
        changed["purchases"] += done
    logger.info("address erased", extra={"changed": changed, "actor": actor})
    return Erased(changed)


def _scrub(mention: m.Mention) -> tuple[int, int]:
    """The masked address out of its audit event, then the mention: (events changed, mentions deleted)."""
    event = get_store().audit_event(mention.PK, mention.event_sk)
    scrubbed = 0
    if event is not None and event.detail is not None:
        detail = event.detail.as_dict()
        value = detail.get(mention.field)
        if isinstance(value, list) and mention.index is not None and int(mention.index) < len(value):
            if value[int(mention.index)] != ERASED:
                value[int(mention.index)] = ERASED
                scrubbed = 1
        elif isinstance(value, str) and value != ERASED:
            detail[mention.field] = ERASED
            scrubbed = 1
        if scrubbed:
            scrubbed = written(
                lambda steps: steps.update(
                    "event", event, [m.AuditEvent.detail.set(detail)], condition=m.AuditEvent.PK.exists()
                )
            )
    deleted = written(lambda steps: steps.delete("mention", mention, condition=m.Mention.PK.exists()))
    return scrubbed, deleted


def _erase_marker(marker: m.MailMarker, keys: list[str], now: datetime) -> int:
    """The marker keeps its status (a replayed record still sends nothing) and loses the address's key."""
    return written(
        lambda steps: steps.update(
            "marker",
            marker,
            [
                m.MailMarker.erased_at.set(clock.iso(now)),
                m.MailMarker.message_id.remove(),
                m.MailMarker.GSI3PK.remove(),
                m.MailMarker.GSI3SK.remove(),
                m.MailMarker.notice.remove(),  # a parked (unsent) email is never sent to an erased address
                m.MailMarker.GSI2PK.remove(),
                m.MailMarker.GSI2SK.remove(),
            ],
            condition=m.MailMarker.GSI3PK.is_in(*map(k.email_gsi, keys)),
        )
    )


def _erase_profile(profile: m.Profile, address: str, actor: str, now: datetime) -> int:
    fields = _profile_fields(profile, address)
    indexed = profile.GSI3PK in map(k.email_gsi, tokens.email_keys(address))
    if not fields and not indexed:
        return 0
    actions: list[Any] = [getattr(m.Profile, name).remove() for name in fields]
    if "verify_email" in fields:
        actions += [m.Profile.verify_nonce.remove(), m.Profile.verify_hash.remove()]
    if indexed:
        actions += [m.Profile.GSI3PK.remove(), m.Profile.GSI3SK.remove()]
    actions += [m.Profile.erased_at.set(clock.iso(now)), *stamp(m.Profile, ERASE, actor)]
    return written(
        lambda steps: steps.update(
            "profile", profile, actions, condition=m.Profile.version == int(profile.version or 0)
        )
    )


def _recipient_changes(now: datetime) -> list[Any]:
    """What a seat loses with its recipient's address (its state, dates and holder's account stay)."""
    return [
        m.Seat.recipient_email.set(ERASED),
        m.Seat.recipient_lc.remove(),  # the paging filter's lower-cased copy (GET /purchases/{id}?email=)
        m.Seat.erased_at.set(clock.iso(now)),
        m.Seat.GSI3PK.remove(),
        m.Seat.GSI3SK.remove(),
        m.Seat.message.remove(),
        m.Seat.nonce.remove(),  # an unaccepted link dies with the address it was for
        m.Seat.token_hash.remove(),
    ]


def _drop_holder(purchase_id: str, key: str) -> None:
    """The address's rule-11 `Holder` item in this purchase (its key names the address): deleted.

    A blind delete, so a repeat is a no-op; the seat it pointed at loses the address in the same
    erasure (a Holder only holds while its seat's `GSI3PK` is the address's), so rule 11 is unchanged.
    """
    holder = m.Holder(k.purchase_pk(purchase_id), k.holder_sk(key))
    get_store().write(lambda steps: steps.delete("holder", holder))


def _erase_recipient(seat: m.Seat, keys: list[str], actor: str, now: datetime) -> int:
    """A seat held by (or invited to) the address: the purchase's holder entry, then the seat, audited."""
    for key in keys:  # whichever kid wrote it
        _drop_holder(seat.purchase_id, key)

    def build(steps: Steps) -> None:
        touch(
            steps,
            Touch.ERASE,
            seat_key(seat.purchase_id, seat.seat_id),
            _recipient_changes(now),
            actor=actor,
            condition=m.Seat.GSI3PK.is_in(*map(k.email_gsi, keys)),
            detail={"state": seat.state},
            at=now,
        )

    return written(build)


def _erase_buyer(purchase: m.Purchase, keys: list[str], actor: str, now: datetime) -> tuple[int, int]:
    """A bought purchase: the copies on its seats first, then the purchase (and its audit), last."""
    seats = 0
    for seat in get_store().seats_of(purchase.purchase_id):
        if seat.buyer_email == ERASED:
            continue
        seats += written(
            lambda steps, seat=seat: touch(
                steps,
                Touch.ERASE,
                seat,
                [m.Seat.buyer_email.set(ERASED), m.Seat.buyer_name.remove()],
                actor=actor,
                condition=m.Seat.buyer_email != ERASED,
                at=now,
                event_kind="seat.buyer_erased",
            )
        )

    def build(steps: Steps) -> None:
        steps.update(
            "purchase",
            purchase,
            [
                m.Purchase.buyer_email.set(ERASED),
                m.Purchase.buyer_name.remove(),
                m.Purchase.buyer_erased_at.set(clock.iso(now)),
                m.Purchase.GSI3PK.remove(),
                m.Purchase.GSI3SK.remove(),
                *stamp(m.Purchase, ERASE, actor),
            ],
            condition=m.Purchase.GSI3PK.is_in(*map(k.email_gsi, keys)),
        )
        steps.put(
            "audit",
            audit.event(purchase.purchase_id, now, "purchase.buyer_erased", actor, detail={"seats": seats}),
        )

    return seats, written(build)


# ---- the sweep's erasure of an ended purchase's recipients --------------------------------------------


def erase_due(purchase: m.Purchase) -> list[Any]:
    """The purchase's due key moved to its `erase` milestone (`erase_after_days` after term_end)."""
    conf = settings()
    day = dict(terms.milestones(clock.parse_iso(purchase.term_end), conf.erase_after_days))[terms.ERASE]
    shard = terms.due_shard(purchase.purchase_id, conf.due_shards)
    return [
        m.Purchase.due_kind.set(terms.ERASE),
        m.Purchase.GSI2PK.set(k.due_gsi(day, shard)),
        m.Purchase.GSI2SK.set(k.due_gsi_sk(purchase.purchase_id)),
    ]


def erase_ended(purchase: m.Purchase, actor: str, now: datetime) -> int:
    """The sweep at a purchase's `erase` milestone: its recipients' addresses, then its due key.

    Within the sweep's cost rule: it reads only this purchase's mentions (a Query of its
    partition) and writes each seat blind, conditional on an address still being there.
    The due key goes last, with an audit event that names no address, so a run that
    fails half way is finished by the next. Returns the seats that lost an address.
    """
    pid = purchase.purchase_id
    erased = 0
    for seat_no in range(1, int(purchase.quantity) + 1):
        seat_id = k.seat_id_of(seat_no)

        def build(steps: Steps, seat_id: str = seat_id) -> None:
            touch(
                steps,
                Touch.ERASE,
                seat_key(pid, seat_id),
                _recipient_changes(now),
                actor=actor,
                condition=m.Seat.recipient_email.exists() & (m.Seat.recipient_email != ERASED),
                at=now,
            )

        erased += written(build)
    for mention in get_store().mentions_in(pid):
        _scrub(mention)
    for key in get_store().holders(pid):  # the Holder items' keys name the addresses (rule 11 is over)
        _drop_holder(pid, key)

    def done(steps: Steps) -> None:
        steps.update(
            "purchase",
            m.Purchase(k.purchase_pk(pid), k.PURCHASE_SK),
            [
                *stamp(m.Purchase, ERASE, actor),
                m.Purchase.GSI2PK.remove(),
                m.Purchase.GSI2SK.remove(),
                m.Purchase.due_kind.remove(),
            ],
            condition=m.Purchase.due_kind == terms.ERASE,
        )
        steps.put(
            "audit", audit.event(pid, now, "purchase.recipients_erased", actor, detail={"seats": erased})
        )

    written(done)  # refused: another run dropped the key first
    return erased
