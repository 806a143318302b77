"""A seat going back to `available` (revoke, decline), and the one refusal a shared seat adds.

Invites and claims take seats by moving the purchase's fresh run (`fresh_from`) on, so an
invited seat is below it and goes back with a `FreeSeat` marker. A seat shared by link
(SPEC 8.2, `invitations.sharing`) may be any available seat, also one of the fresh run:
sharing counts it as one of the run's `holes`, and giving it back while it is still in the
run counts the hole off again instead of writing a marker. Which of the two holds is the
purchase's condition in the write: the first try (below the run) is every ordinary
invitation's one round trip; only a seat still inside the run takes a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action as Update

from giftplans import terms
from giftplans.errors import Conflict
from giftplans.seats import TOUCHES, Action, Touch
from giftplans.store import get_store
from giftplans.store import models as m
from giftplans.store.transitions import Move, PurchaseSide, transition
from giftplans.store.writes import Refused, Steps

SEAT_SHARED = (
    "This seat was shared by link and has no address to email; the buyer can make a fresh link "
    "from the Billing page instead."
)


def sides(seat_id: str) -> list[tuple[PurchaseSide, bool]]:
    """The purchase's part when seat `seat_id` goes back: below the fresh run (a marker), or inside it."""
    n = int(seat_id)
    below = PurchaseSide(condition=m.Purchase.fresh_from > n)
    inside = PurchaseSide([m.Purchase.holes.add(-1)], m.Purchase.fresh_from <= n)
    return [(below, False), (inside, True)]


def give_back(
    action: Action,
    purchase_id: str,
    seat_id: str,
    changes: Sequence[Update],
    condition: Condition,
    *,
    actor: str,
    at: datetime,
) -> None:
    """`action` (revoke, decline) moves the seat to available; `Refused` if the seat's condition failed."""
    for side, in_run in sides(seat_id):

        def build(steps: Steps, side: PurchaseSide = side, in_run: bool = in_run) -> None:
            move = Move(seat_id, changes, condition, fresh_run=in_run)
            transition(steps, action, purchase_id, [move], actor=actor, purchase=side, at=at)

        try:
            get_store().write(build)
            return
        except Refused as refused:
            if in_run or refused.failed("seat") or not refused.failed("purchase"):
                raise


def not_mailable(old: m.Item | None, sub: str, now: datetime) -> Conflict | None:
    """409 `seat_shared` for an email resend of the buyer's shared seat, in term (support's resend)."""
    if (
        isinstance(old, m.Seat)
        and old.buyer_id == sub
        and old.shared
        and old.state in TOUCHES[Touch.RESEND]
        and not terms.has_ended(old.term_end_ts, now)
    ):
        return Conflict(SEAT_SHARED, code="seat_shared")
    return None
