"""The purchase's audit trail: who did what, when, to which seats.

An audit event is written in the same transaction as the change it records, so the
trail never shows a change that did not commit. Details never hold a raw address, a
token or a nonce: addresses are masked (`tokens.mask_email`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from giftplans import clock
from giftplans.seats import Action, Touch
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.tokens import new_nonce

# Actors: who made a change (the audit event's `actor`, and the item's).
BUYER, RECIPIENT, STRIPE, SWEEP, SES = "buyer", "recipient", "stripe", "sweep", "ses"


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
