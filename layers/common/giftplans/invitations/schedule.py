"""Scheduled invitations (SPEC 8.1) and the recipient's one reminder (issue 16): a seat's due key.

An invited seat with something due carries a sparse key on GSI2: `SEND#<shard>` / the instant it
falls due (ISO-8601 UTC sorts as time), and `due_kind` says what for:

- `deliver`: the row had a `send_at` still ahead. The seat is `invited` at once (reserved for the
  address: rule 11 holds, the seat counts), but the outbox mails nothing (`outbox.scheduled`);
  the deliveries function (`giftplans.deliveries`) finds the key once `send_at` passed and
  touches the seat (`Touch.DELIVER`, audited `seat.delivered`), which mails the invitation and
  moves the key on to the reminder;
- `nudge`: the invitation went (an immediate invite, a delivery, a resend); 7 days later a
  recipient who has not accepted gets one reminder (`Touch.NUDGE`, `seat.nudged`), and the key
  goes.

The key is written and removed in the seat's own transaction (invite, delivery, resend, revoke,
decline, accept), so a revoke cannot leave a delivery behind. What else ends an invitation
(expiry, support's cancel, a refund, a bounce, an erased address) leaves the key to the
deliveries function, whose conditional write is refused and which then drops the stale key.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.expressions.update import Action as Update

from giftplans import clock, terms
from giftplans.settings import get as settings
from giftplans.store import keys as k
from giftplans.store import models as m

SKEW = timedelta(seconds=60)  # a send_at this much in the past is "now" (clocks differ a little)
MAX_AHEAD = timedelta(days=365)  # SPEC 8.1: at most 365 days ahead
NUDGE_AFTER = timedelta(days=7)  # issue 16: the recipient's reminder, 7 days after the mail went
DELIVER, NUDGE = "deliver", "nudge"  # the seat's `due_kind`


def canonical(send_at: datetime | None) -> str | None:
    """`send_at` as the API writes instants (`clock.iso`), or None; as given when it has no UTC
    spelling (a year-1 or year-9999 instant whose offset leaves the calendar): `problem` refuses it."""
    if send_at is None:
        return None
    try:
        return clock.iso(send_at)
    except (OverflowError, ValueError):
        return send_at.isoformat()


def problem(send_at: str | None, now: datetime) -> tuple[str, str] | None:
    """Why a row's `send_at` cannot be used (code, sentence) before the purchase is read, or None."""
    if send_at is None:
        return None
    try:
        instant = clock.parse_iso(send_at)
    except (TypeError, ValueError, OverflowError):
        return "invalid_send_at", "send_at must be an ISO-8601 instant with a time zone."
    if instant < now - SKEW:
        return "send_at_in_past", "send_at is in the past; choose a later time or leave it out to send now."
    if instant > now + MAX_AHEAD:
        return "send_at_too_far", f"send_at may be at most {MAX_AHEAD.days} days ahead."
    return None


def after_term(send_at: str | None, term_end_ts: int) -> bool:
    """SPEC 8.1: a `send_at` at or after the purchase's `term_end` is refused."""
    return send_at is not None and clock.epoch(clock.parse_iso(send_at)) >= int(term_end_ts)


def is_later(send_at: str | None, now: datetime) -> bool:
    """Whether the invitation waits for the deliveries function (else it is mailed at once)."""
    return send_at is not None and clock.parse_iso(send_at) > now


def shard_of(purchase_id: str, seat_id: str) -> int:
    return terms.due_shard(f"{purchase_id}#{seat_id}", settings().due_shards)


def _key(purchase_id: str, seat_id: str, instant: datetime | str, kind: str) -> list[Update]:
    at = instant if isinstance(instant, str) else clock.iso(instant)
    return [
        m.Seat.GSI2PK.set(k.send_gsi(shard_of(purchase_id, seat_id))),
        m.Seat.GSI2SK.set(k.send_gsi_sk(at)),
        m.Seat.due_kind.set(kind),
    ]


def on_invite(purchase_id: str, seat_id: str, send_at: str | None, now: datetime) -> list[Update]:
    """The invite's due key: the delivery at `send_at`, else the reminder 7 days from now."""
    changes: list[Update] = [m.Seat.sent_at.remove(), m.Seat.nudged_at.remove()]
    changes.append(m.Seat.send_at.set(send_at) if send_at is not None else m.Seat.send_at.remove())
    if is_later(send_at, now):
        assert send_at is not None
        return [*changes, *_key(purchase_id, seat_id, send_at, DELIVER)]
    return [*changes, *_key(purchase_id, seat_id, now + NUDGE_AFTER, NUDGE)]


def sent_now(purchase_id: str, seat_id: str, now: datetime) -> list[Update]:
    """A mail goes now (a delivery, a resend): the key moves to the reminder 7 days from now.

    A recipient already reminded is not reminded again (the nudge's condition: `nudged_at`).
    """
    return _key(purchase_id, seat_id, now + NUDGE_AFTER, NUDGE)


def removed() -> list[Update]:
    """The invitation ended in its own write (revoke, decline, accept): nothing is due any more."""
    return [m.Seat.GSI2PK.remove(), m.Seat.GSI2SK.remove(), m.Seat.due_kind.remove()]


def pending(seat: m.Seat) -> bool:
    """The seat's invitation waits for its `send_at`: nothing was mailed to its recipient yet."""
    return seat.due_kind == DELIVER
