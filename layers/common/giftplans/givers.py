"""Who gave a gift (`gift_from` on My plan), kept off the accept's hot path (issue 15: accept in 1 trip).

Accept is one transaction and reads nothing first, so it cannot copy the seat's sender onto the
entitlement it writes (TransactWriteItems hands nothing back). The events publisher does, from the
accepted seat's NEW_IMAGE (`fill`): one UpdateItem of the recipient's entitlement, on condition it
still comes from that seat and has no `gift_from` yet (a redelivered record, a later gift, a claim
or an accept as credit change nothing). Until the stream has run (about a second), `GET
/me/entitlement` reads the seat once more (`lookup`), so My plan names the sender at once.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from giftplans import tokens
from giftplans.errors import UpstreamUnavailable
from giftplans.observability import logger
from giftplans.seats import SeatState
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.writes import Refused, Steps

GIFT = "gift"  # entitlements.Source.GIFT (not imported: the events publisher stays light)


def sender(seat: m.Seat) -> str:
    """Who gave the seat, as the recipient's My plan shows it (`gift_from`): the address masked."""
    return seat.from_name or seat.buyer_name or tokens.mask_email(seat.buyer_email)


def accepted(record: dict[str, Any]) -> m.Seat | None:
    """The seat a stream record accepts as a gift (not as a credit, SPEC 8.5), else None."""
    if record.get("eventName") != "MODIFY":
        return None
    stream = record.get("dynamodb") or {}
    new, old = _item(stream.get("NewImage")), _item(stream.get("OldImage"))
    if not isinstance(new, m.Seat) or new.state != SeatState.ACCEPTED or not new.recipient_sub:
        return None
    if isinstance(old, m.Seat) and old.state == SeatState.ACCEPTED:
        return None
    return None if new.credited is not None else new


def fill(records: list[dict[str, Any]]) -> list[str]:
    """Write `gift_from` for each gift the records accept; the sequence numbers to retry (throttled)."""
    failed = []
    for record in records:
        seat = accepted(record)
        if seat is None:
            continue
        try:
            get_store().write(partial(_fill, seat=seat))
        except Refused:
            continue  # already written, or the entitlement no longer comes from this seat
        except UpstreamUnavailable:
            logger.warning("gift_from not written", extra={"seat_id": seat.seat_id})
            failed.append(str((record.get("dynamodb") or {}).get("SequenceNumber") or record.get("eventID")))
    return failed


def _fill(steps: Steps, *, seat: m.Seat) -> None:
    e = m.Entitlement
    key = m.Entitlement(k.account_pk(str(seat.recipient_sub)), k.ENTITLEMENT_SK)
    steps.update(
        "entitlement",
        key,
        [e.gift_from.set(sender(seat))],
        condition=(e.purchase_id == seat.purchase_id)
        & (e.seat_id == seat.seat_id)
        & (e.source == GIFT)
        & e.gift_from.does_not_exist(),
    )


def lookup(entitlement: m.Entitlement) -> str | None:
    """A gift's sender while the stream has not written it yet: one read of the seat (else None)."""
    if entitlement.source != GIFT or entitlement.gift_from or not entitlement.purchase_id:
        return None
    seat = get_store().seat(str(entitlement.purchase_id), str(entitlement.seat_id), consistent=False)
    return sender(seat) if isinstance(seat, m.Seat) else None


def _item(image: dict[str, Any] | None) -> m.Item | None:
    if not image or "type" not in image:
        return None
    try:
        return m.Item.from_raw_data(image)
    except (ValueError, KeyError, TypeError):
        return None
