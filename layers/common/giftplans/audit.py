"""The purchase's audit trail: who did what, when, to which seats.

An audit event is written in the same transaction as the change it records, so the
trail never shows a change that did not commit. Details never hold a raw address, a
token or a nonce: addresses are masked (`tokens.mask_email`). An event that masks an
address is written with one `Mention` per address (`put(..., mentions=...)`), so erasure
finds it by the address's key (GSI3), never by reading every trail (docs/privacy.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from giftplans import clock
from giftplans.seats import Action, Touch
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.tokens import email_key, new_nonce

if TYPE_CHECKING:
    from giftplans.store.writes import Steps

# Actors: who made a change (the audit event's `actor`, and the item's).
BUYER, RECIPIENT, STRIPE, SWEEP, SES = "buyer", "recipient", "stripe", "sweep", "ses"
SCHEDULER = "scheduler"  # the deliveries function (giftplans.deliveries)


# The audit kind of every seat write (`store.transitions` writes it in the seat's own transaction).
SEAT_EVENTS: dict[Action, str] = {
    Action.INVITE: "seat.invited",
    Action.ACCEPT: "seat.accepted",
    Action.DECLINE: "seat.declined",
    Action.REVOKE: "seat.revoked",
    Action.CLAIM: "seat.claimed",
    Action.UPGRADE: "seat.upgraded",
    Action.EXPIRE: "seat.expired",
    Action.CANCEL: "seat.cancelled",
    Action.REFUND: "seat.refunded",
}
TOUCH_EVENTS: dict[Touch, str] = {
    Touch.RESEND: "seat.resent",
    Touch.REMIND_30: "seat.reminded",
    Touch.REMIND_7: "seat.reminded",
    Touch.UPGRADE_OFFER: "seat.upgrade_offered",
    Touch.BOUNCE: "seat.bounced",
    Touch.CREDIT: "seat.credited",  # SPEC 8.5: Stripe took the accepted gift's credit
    # SPEC 8.7: Stripe refunded a cancelled seat's value ("seat.refunded" is the full refund's move)
    Touch.SEAT_REFUND: "seat.refund_paid",
    Touch.ERASE: "seat.recipient_erased",  # privacy: an address on the seat went
    Touch.DELIVER: "seat.delivered",  # SPEC 8.1: a scheduled invitation is mailed now
    Touch.NUDGE: "seat.nudged",  # issue 16: the recipient's one reminder of an invitation not accepted
}
# Touches whose event may say more precisely what happened (`transitions.touch(..., kind=...)`).
OTHER_TOUCH_EVENTS: dict[Touch, frozenset[str]] = {
    Touch.ERASE: frozenset({"seat.buyer_erased"}),  # the buyer's copy on the seat, not the recipient's
    Touch.RESEND: frozenset({"seat.reshared"}),  # SPEC 8.2: a fresh shared link, nothing mailed
}
# Transitions whose event says more precisely what happened (`transitions.transition(..., kind=...)`).
OTHER_SEAT_EVENTS: dict[Action, frozenset[str]] = {
    Action.INVITE: frozenset({"seat.shared"}),  # SPEC 8.2: invited by a link the buyer shares
}


def support(arn: str) -> str:
    """The actor of a support action: the IAM principal that called the admin API."""
    return f"support:{arn}"


def event(
    purchase_id: str,
    at: datetime,
    kind: str,
    actor: str,
    seat_ids: list[str] | None = None,
    detail: dict[str, Any] | None = None,
) -> m.AuditEvent:
    """An audit item for `purchase_id` (kind like "seat.invited"), to save inside the transaction."""
    stamp = clock.iso(at)
    # Sub-second digits first in the suffix: events of one second still sort in the order they happened.
    suffix = f"{clock.as_utc(at).microsecond:06d}{new_nonce()[:8]}"
    return m.AuditEvent(
        k.purchase_pk(purchase_id),
        k.event_sk(stamp, suffix),
        purchase_id=purchase_id,
        at=stamp,
        kind=kind,
        actor=actor,
        seat_ids=seat_ids,
        detail=detail,
    )


def put(
    steps: Steps,
    event: m.AuditEvent,
    *,
    field: str | None = None,
    mentions: Sequence[tuple[str | None, str]] = (),
    listed: bool = False,
) -> None:
    """Add `event` to the write, with a mention of each (seat id, address) its `detail[field]` masks.

    `listed`: `detail[field]` is a list aligned with `mentions` (an invite's `recipients`);
    otherwise it holds the one masked address.
    """
    steps.put("audit", event)
    if field is None:
        return
    for index, (seat_id, address) in enumerate(mentions):
        steps.put(f"mention {index}", mention(event, field, address, seat_id, index if listed else None))


def mention(
    event: m.AuditEvent, field: str, address: str, seat_id: str | None = None, index: int | None = None
) -> m.Mention:
    """The lookup that ties `address` (by its key) to the audit event that masks it."""
    key = email_key(address)
    return m.Mention(
        event.PK,
        k.mention_sk(event.SK, key),
        purchase_id=event.purchase_id,
        event_sk=event.SK,
        field=field,
        index=index,
        seat_id=seat_id,
        GSI3PK=k.email_gsi(key),
        GSI3SK=k.mention_email_sk(event.purchase_id, event.SK),
    )
