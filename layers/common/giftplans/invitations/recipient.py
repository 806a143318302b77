"""What a seat records of its recipient: set on invite, removed when it goes back (revoke, decline)."""

from __future__ import annotations

from pynamodb.expressions.update import Action as Update

from giftplans import clock, tokens
from giftplans.invitations import schedule
from giftplans.store import keys as k
from giftplans.store import models as m


def recorded(
    purchase_id: str,
    seat_id: str,
    email: str,
    message: str | None,
    *,
    nonce: str,
    token_hash: str,
    at: str,
    at_ts: int,
    from_name: str | None = None,
    locale: str | None = None,
    buyer_locale: str | None = None,
    send_at: str | None = None,
) -> list[Update]:
    """An invited seat: its address (and GSI3 key, for support), the link's nonce and hash, the note.

    With a `send_at` still ahead (SPEC 8.1) nothing is mailed yet, so no send time is recorded;
    either way the seat gets its due key (`invitations.schedule`).
    """
    now = clock.from_epoch(at_ts)
    later = schedule.is_later(send_at, now)
    changes: list[Update] = [
        m.Seat.recipient_email.set(email),
        m.Seat.recipient_lc.set(tokens.normalise_email(email)),
        m.Seat.GSI3PK.set(k.email_gsi(tokens.email_key(email))),
        m.Seat.GSI3SK.set(k.seat_email_sk(purchase_id, seat_id)),
        m.Seat.invited_at.set(at),
        m.Seat.nonce.set(nonce),
        m.Seat.token_hash.set(token_hash),
        m.Seat.link_hashes.add({token_hash}),
        m.Seat.resend_count.set(0),
        m.Seat.last_sent_ts.remove() if later else m.Seat.last_sent_ts.set(at_ts),
        m.Seat.delivery.remove(),
        m.Seat.reminders.remove(),
        *schedule.on_invite(purchase_id, seat_id, send_at, now),
    ]
    if message:
        changes.append(m.Seat.message.set(message))
    changes.append(m.Seat.from_name.set(from_name) if from_name else m.Seat.from_name.remove())
    # The recipient's mail language (the row's, else the buyer's); the buyer's as of this request.
    changes.append(m.Seat.recipient_locale.set(locale) if locale else m.Seat.recipient_locale.remove())
    if buyer_locale:
        changes.append(m.Seat.buyer_locale.set(buyer_locale))
    return changes


def removed() -> list[Update]:
    """Revoke and decline: the seat goes back without a trace of its recipient."""
    return [
        m.Seat.recipient_email.remove(),
        m.Seat.recipient_lc.remove(),
        m.Seat.recipient_sub.remove(),
        m.Seat.GSI3PK.remove(),
        m.Seat.GSI3SK.remove(),
        m.Seat.invited_at.remove(),
        m.Seat.nonce.remove(),
        m.Seat.token_hash.remove(),
        m.Seat.message.remove(),
        m.Seat.from_name.remove(),
        m.Seat.recipient_locale.remove(),
        m.Seat.delivery.remove(),
        m.Seat.shared.remove(),
        m.Seat.shared_at.remove(),
        m.Seat.send_at.remove(),
        m.Seat.sent_at.remove(),
        m.Seat.nudged_at.remove(),
        *schedule.removed(),  # a revoke before send_at cancels the delivery in the same write
    ]
