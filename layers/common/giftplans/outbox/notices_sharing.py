"""The domain events of a seat shared by link (SPEC 8.2): `seat.shared`, `seat.reshared`, its revoke.

A shared seat has no address until someone accepts it, so these changes mail nothing (the
`notices` rules for invitations need an address and a nonce, and a shared seat has neither);
they are announced on EventBridge only, without the link (`docs/events.md`). Accept and decline
of a shared link are the ordinary `seat.accepted` / `seat.declined` (`notices._seat`).
"""

from __future__ import annotations

from typing import Any

from giftplans.seats import Action, SeatState, Touch
from giftplans.store.models import Seat

S = SeatState


def shared_events(old: Seat, new: Seat) -> list[tuple[str, dict[str, Any]]]:
    """(detail type, fields beyond the seat's) for a shared seat's change; [] for any other change."""
    if not (old.shared or new.shared):
        return []
    action, after = new.last_action, new.state
    who = {"buyer_sub": new.buyer_id}
    if action == Action.INVITE and after == S.INVITED and new.shared:
        return [("seat.shared", {**who, "shared_at": new.shared_at, "invited_at": new.invited_at})]
    if action == Touch.RESEND and after == S.INVITED and new.shared and new.token_hash != old.token_hash:
        return [("seat.reshared", {**who, "shared_at": new.shared_at})]
    if (
        action == Action.REVOKE
        and old.state == S.INVITED
        and after == S.AVAILABLE
        and not old.recipient_email
    ):
        return [("seat.revoked", who)]  # the emailed invitation's revoke announces itself in `notices`
    return []
