"""What scheduled invitations and the recipient's reminder tell people (SPEC 8.1, issue 16).

`outbox.notices` asks `seat_notices` first for every seat transition; it answers the notices
of the moves this module owns, or None:

- an invite with a `send_at` still ahead (`due_kind=deliver`): event `seat.scheduled`, no mail;
- a delivery (`Touch.DELIVER`): the invitation, as an immediate invite sends it, and event
  `seat.delivered`;
- a nudge (`Touch.NUDGE`): the `invitation_reminder` (the same link) and event `seat.nudged`.

`unsent` then drops what would tell the recipient of an invitation never mailed (a revoke,
support's cancel or a refund before `send_at`): they were told nothing, so nothing is taken back.
Pure, like `outbox.notices`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from giftplans.invitations import schedule
from giftplans.seats import Action, SeatState, Touch
from giftplans.store.models import Seat

if TYPE_CHECKING:
    from giftplans.outbox.notices import Notice, _Out


def seat_notices(old: Seat, new: Seat, out: _Out) -> list[Notice] | None:
    from giftplans.outbox.notices import _invitation

    action, invited = new.last_action, new.state == SeatState.INVITED
    if action == Action.INVITE and invited and schedule.pending(new):
        out.event("seat.scheduled", buyer_sub=new.buyer_id, invited_at=new.invited_at, send_at=new.send_at)
    elif action == Touch.DELIVER and invited and new.nonce and new.recipient_email:
        out.email("invitation", new.recipient_email, **_invitation(new))
        out.event("seat.delivered", buyer_sub=new.buyer_id, send_at=new.send_at)
    elif action == Touch.NUDGE and invited and new.nonce and new.recipient_email:
        out.email("invitation_reminder", new.recipient_email, **_invitation(new))
        out.event("seat.nudged", buyer_sub=new.buyer_id)
    else:
        return None
    return out.notices


def unsent(old: Seat, new: Seat, notices: list[Notice]) -> list[Notice]:
    """Without the mails to a recipient whose invitation ended while still waiting for its `send_at`."""
    if not schedule.pending(old) or not old.recipient_email or new.state == SeatState.INVITED:
        return notices
    return [n for n in notices if n.email is None or n.email.to != old.recipient_email]
