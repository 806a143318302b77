"""Whether a purchase's seats can be handed out now (invite, claim): the caller's, paid, in term, not frozen.

`open_for` explains a refusal from the purchase as read (or as it stood when a write was
refused); `still_open` is the same rule as the write's condition, so DynamoDB enforces
it against whatever happened in between.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action as Update

from giftplans import clock, terms
from giftplans.errors import Conflict, Gone, NotFound
from giftplans.purchases import FAILED, PAID, PENDING, REFUNDED
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.writes import Refused, Steps

NOT_FOUND = "There is no purchase with this id on your account."
REFUNDED_TEXT = "This purchase was refunded and its seats were cancelled."


def owned(purchase: m.Item | None, sub: str) -> m.Purchase:
    """The purchase, if it is the caller's; anyone else's, like one that does not exist, is a 404."""
    if not isinstance(purchase, m.Purchase) or purchase.buyer_id != sub:
        raise NotFound(NOT_FOUND, code="purchase_not_found")
    return purchase


def open_for(purchase: m.Item | None, sub: str, now: datetime, *, batch: str | None = None) -> m.Purchase:
    """The purchase, if it is the caller's and its seats can be handed out now; else the reason why not."""
    purchase = owned(purchase, sub)
    if purchase.status == PENDING:
        raise Conflict(
            "This purchase is still waiting for its payment; its seats can be used once it is paid.",
            code="purchase_not_paid",
        )
    if purchase.status == FAILED:
        raise Conflict(
            "The payment for this purchase failed, so its seats cannot be used.", code="purchase_not_paid"
        )
    if purchase.status == REFUNDED or purchase.closing:  # closing: refunded, its seats being cancelled
        raise Conflict(REFUNDED_TEXT, code="purchase_refunded")
    if purchase.status != PAID:
        raise Conflict("This purchase's seats cannot be used.", code="purchase_not_paid")
    if terms.has_ended(purchase.term_end_ts, now):
        raise Gone(
            f"This purchase's term ended on {purchase.term_end}; its seats can no longer be handed out.",
            code="term_ended",
        )
    if (
        purchase.batch_lock
        and purchase.batch_lock != batch
        and int(purchase.batch_lease_until or 0) > clock.epoch(now)
    ):
        raise Conflict(
            "A list of invitations is being sent on this purchase right now; try again in a minute.",
            code="list_in_progress",
        )
    if purchase.frozen:
        raise Conflict(
            "A payment dispute is open on this purchase; new invitations and claims are paused "
            "until it is resolved.",
            code="purchase_frozen",
        )
    return purchase


def still_open(sub: str, now: datetime, *, batch: str | None = None) -> Condition:
    """`open_for` as the purchase's condition in the write: DynamoDB checks it again.

    A list of invitations being written holds the purchase for its lease (`batch_lock`);
    its own chunks pass `batch` (its SK) to go on while it holds it.
    """
    unlocked = m.Purchase.batch_lock.does_not_exist() | (m.Purchase.batch_lease_until <= clock.epoch(now))
    if batch is not None:
        unlocked = unlocked | (m.Purchase.batch_lock == batch)
    condition: Condition = (
        (m.Purchase.buyer_id == sub)
        & (m.Purchase.status == PAID)
        & (m.Purchase.frozen.does_not_exist() | (m.Purchase.frozen == False))  # noqa: E712
        & not_closing()
        & (m.Purchase.term_end_ts > clock.epoch(now))
        & unlocked
    )
    return condition


def not_closing() -> Condition:
    """No full refund's close job holds the purchase (`giftplans.closing`, SPEC rule 14)."""
    condition: Condition = m.Purchase.closing.does_not_exist() | (m.Purchase.closing == False)  # noqa: E712
    return condition


def check_not_closing(steps: Steps, purchase_id: str) -> None:
    """The write's step "purchase": no close job holds it (a resend, a fresh shared link, support's actions).

    A write that touches only a seat still answers as a refunded purchase's while its close job
    runs, checked in the same write (a ConditionCheck), never by a read before it.
    """
    steps.check("purchase", m.Purchase, k.purchase_pk(purchase_id), k.PURCHASE_SK, condition=not_closing())


def refuse_if_closing(refused: Refused) -> None:
    """409 `purchase_refunded` when the write's "purchase" step failed because a close job holds it."""
    old = refused.old("purchase")
    if refused.failed("purchase") and isinstance(old, m.Purchase) and old.closing:
        raise Conflict(REFUNDED_TEXT, code="purchase_refunded") from refused


# ---- which seats to hand out ----------------------------------------------------------------------------


class Picked(NamedTuple):
    """The seats an invite or claim takes, lowest first, and what the purchase's write must say."""

    numbers: list[int]
    from_markers: frozenset[int]  # taken through a FreeSeat marker (deleted in the same write)
    changes: list[Update]  # fresh_from / holes moved on
    condition: Condition  # they stood as read


def available_count(purchase: m.Purchase) -> int:
    return int(purchase.seat_counts.available or 0) if purchase.seat_counts else 0


def pick_seats(purchase: m.Purchase, wanted: int) -> Picked:
    """`wanted` available seats of `purchase`; `no_seats_available` when there are fewer.

    Seats never handed out come first, lowest first (seats from `fresh_from` up: no read, so
    invite and claim stay two round trips while any remain); seats given back (FreeSeat
    markers) only once those run out (one Query). After support cancelled unused seats
    (`holes`), the fresh ones are found by reading the seats from `fresh_from` on.
    """
    free = available_count(purchase)
    if free < wanted:
        raise Conflict(
            f"This purchase has {free} seat(s) available and {wanted} were asked for; nothing was sent.",
            code="no_seats_available",
            details={"available": free},
        )
    first, holes, quantity = int(purchase.fresh_from or 1), int(purchase.holes or 0), int(purchase.quantity)
    never_used = quantity - first + 1 - holes
    fresh: list[int] = []
    new_first, new_holes = first, holes
    take_fresh = min(wanted, never_used)
    if take_fresh > 0 and holes == 0:
        fresh = list(range(first, first + take_fresh))
        new_first = first + take_fresh
    elif take_fresh > 0:
        fresh, last = get_store().available_from(purchase.purchase_id, first, take_fresh)
        new_first = last + 1
        new_holes = holes - ((last - first + 1) - len(fresh))
    need = wanted - len(fresh)
    from_markers = get_store().free_markers(purchase.purchase_id, need) if need > 0 else []
    if len(from_markers) + len(fresh) < wanted:
        raise Conflict(BUSY_SEATS, code="concurrent_change")
    condition: Condition = (m.Purchase.fresh_from == first) & (m.Purchase.holes == holes)
    changes: list[Update] = []
    if new_first != first:
        changes.append(m.Purchase.fresh_from.set(new_first))
    if new_holes != holes:
        changes.append(m.Purchase.holes.set(new_holes))
    return Picked(sorted(from_markers + fresh), frozenset(from_markers), changes, condition)


BUSY_SEATS = (
    "The purchase's seats changed while they were being chosen; nothing was changed. Please try again."
)
