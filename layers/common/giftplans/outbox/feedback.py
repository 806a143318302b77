"""What happened to an invitation email after SES accepted it (rule 12).

"Sent" (SES took the message) is kept apart from "delivered": the mailer marks an
invitation's seat `delivery=sent`; SES later reports bounces and complaints through SNS,
and `record_feedback` marks the seat `bounced` or `complained` so the buyer sees it on
the Billing page and can revoke and re-invite.

Every update is conditioned on the seat still holding the link the email carried (SES
returns the message's tags; `link` is a prefix of the link's stored hash, no secret; a
message sent before it carries the seat's `nonce`): feedback about an old link (revoked,
resent, accepted since) changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from giftplans import clock
from giftplans.observability import logger
from giftplans.seats import Touch
from giftplans.store import get_store
from giftplans.store import models as m
from giftplans.store.transitions import seat_key, touch
from giftplans.store.writes import Refused

SENT, BOUNCED, COMPLAINED = "sent", "bounced", "complained"
SES = "ses"  # the actor of a bounce or complaint
OUTCOMES = {"Bounce": BOUNCED, "Complaint": COMPLAINED}
LINK_TAG_CHARS = 24  # hex of Seat.token_hash: 96 bits name one link
TAG_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(frozen=True)
class Feedback:
    outcome: str  # bounced | complained
    purchase_id: str
    seat_id: str
    link: str  # the `link` tag (a prefix of Seat.token_hash), or the older `nonce` tag's nonce
    detail: str  # bounce type / complaint feedback type, for the logs
    by_nonce: bool = False  # a message sent while the nonce rode in the tags

    def same_link(self) -> Any:
        """The condition that the seat still holds the link the email carried."""
        if self.by_nonce:
            return m.Seat.nonce == self.link
        return _holds_link(self.link)


def _holds_link(link: str) -> Any:
    return m.Seat.token_hash.startswith(link)


def parse(message: str | dict[str, Any]) -> Feedback | None:
    """An SES event-publishing or identity notification -> Feedback, or None if it is not ours to act on."""
    try:
        body = json.loads(message) if isinstance(message, str) else message
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    kind = body.get("eventType") or body.get("notificationType")
    outcome = OUTCOMES.get(str(kind))
    mail = body.get("mail")
    tags = mail.get("tags") if isinstance(mail, dict) else None
    if outcome is None or not isinstance(tags, dict):
        return None

    def tag(name: str) -> str | None:
        values = tags.get(name)
        value = values[0] if isinstance(values, list) and values else values
        return tag_text(value) if isinstance(value, str) and value else None

    purchase_id, seat_id, link, nonce = tag("purchase_id"), tag("seat_id"), tag("link"), tag("nonce")
    if not (purchase_id and seat_id and (link or nonce)) or (link and len(link) != LINK_TAG_CHARS):
        return None
    info = body.get("bounce") if outcome == BOUNCED else body.get("complaint")
    info = info if isinstance(info, dict) else {}
    detail = str(info.get("bounceType") or info.get("complaintFeedbackType") or "")
    return Feedback(outcome, purchase_id, seat_id, str(link or nonce), detail, by_nonce=not link)


def record_feedback(message: str | dict[str, Any]) -> bool:
    """Apply one SNS message from SES; True when a seat was marked. Irrelevant ones are logged, ignored."""
    feedback = parse(message)
    if feedback is None:
        logger.info("ses notification ignored: not a tagged bounce or complaint")
        return False
    return _mark(feedback)


def _mark(feedback: Feedback) -> bool:
    # touch() writes the seat's `seat.bounced` audit event in the same write: the buyer's seat
    # history shows when it bounced (a complaint reads as a bounce, rule 12).
    detail = {"outcome": feedback.outcome, **({"type": feedback.detail} if feedback.detail else {})}
    try:
        get_store().write(
            lambda steps: touch(
                steps,
                Touch.BOUNCE,
                seat_key(feedback.purchase_id, feedback.seat_id),
                [m.Seat.delivery.set(feedback.outcome)],
                actor=SES,
                detail=detail,
                condition=feedback.same_link(),  # the link the email carried is still the seat's
            )
        )
    except Refused:
        logger.info(
            "ses feedback for a link that is no longer current",
            extra={
                "purchase_id": feedback.purchase_id,
                "seat_id": feedback.seat_id,
                "outcome": feedback.outcome,
            },
        )
        return False
    logger.info(
        "invitation marked",
        extra={
            "purchase_id": feedback.purchase_id,
            "seat_id": feedback.seat_id,
            "outcome": feedback.outcome,
            "detail": feedback.detail,
        },
    )
    return True


def mark_sent(purchase_id: str, seat_id: str, link: str) -> bool:
    """SES accepted this link's email. Bookkeeping: the seat's version and last_action stay as they are."""
    try:
        get_store().write(
            lambda steps: touch(
                steps,
                Touch.SENT,
                seat_key(purchase_id, seat_id),
                [m.Seat.delivery.set(SENT), m.Seat.sent_at.set(clock.iso(clock.now()))],  # SPEC 8.1
                actor=None,  # bookkeeping: no new version, no notice
                condition=_holds_link(link) & m.Seat.delivery.does_not_exist(),
            )
        )
    except Refused:
        return False
    return True


# ---- SES message tags ------------------------------------------------------------------------------------


def tag_value(value: str) -> str:
    """SES tag values allow only [A-Za-z0-9_-]: other values travel hex-encoded behind an `x-` prefix."""
    if all(c in TAG_CHARS for c in value) and not value.startswith("x-"):
        return value[:256]
    return ("x-" + value.encode().hex())[:256]


def tag_text(value: str) -> str:
    """The inverse of `tag_value`."""
    if value.startswith("x-"):
        try:
            return bytes.fromhex(value[2:]).decode()
        except ValueError:
            return value
    return value
