"""Scheduled invitations go out, and recipients get their one reminder (SPEC 8.1, issue 16).

The `deliveries` function runs every 4 minutes (EventBridge schedule; locally `POST
/_local/deliveries`). Each run Queries every `SEND#<shard>` partition of GSI2 for seats due at
or before now (`invitations.schedule` writes and removes those keys) and moves each one with a
single conditional write of the seat (and its audit event):

- `due_kind=deliver`: `Touch.DELIVER` (`seat.delivered`); the outbox mails the invitation as it
  does for an immediate invite, and the key moves on to the reminder, 7 days later;
- `due_kind=nudge`: `Touch.NUDGE` (`seat.nudged`); the outbox mails `invitation_reminder`
  and the key goes.

Rule 14: while a dispute freezes the purchase, a delivery is a new invitation and waits: its
write checks the purchase is not frozen, and a refused one leaves the key due (`held`), so the
first run after the thaw mails it. A reminder of an invitation already mailed still goes.
A seat whose write fails for any other reason (AWS, a transaction conflict with a concurrent
revoke) is counted `failed`, stays due, and the run goes on with the next seat.

Round trips: one Query page per shard, one write per due seat (two when the key was stale:
the invitation ended without removing it, e.g. expiry or support's cancel, and the key is then
dropped). Never a Scan. Each write is conditional on the key as read, so a run repeated, two
runs at once, or a revoke or resend in between change nothing twice and mail nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from pynamodb.expressions.condition import Condition

from giftplans import audit, clock
from giftplans.background import Chunks
from giftplans.errors import AWS_ERRORS, DomainError
from giftplans.invitations import schedule
from giftplans.observability import logger
from giftplans.seats import Touch
from giftplans.settings import get as settings
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.transitions import seat_key, touch
from giftplans.store.writes import Refused, Steps

# one seat failed (also a `Refused` not on its own condition, e.g. a transaction conflict): the run goes on
SEAT_ERRORS: tuple[type[Exception], ...] = (*AWS_ERRORS, DomainError, Refused)
NOT_FROZEN: Condition = m.Purchase.frozen.does_not_exist() | (m.Purchase.frozen == False)  # noqa: E712
STOP_MARGIN_S = 20.0  # stop taking seats this long before the timeout: the next run takes the rest


@dataclass
class Result:
    due: int = 0
    delivered: int = 0
    nudged: int = 0
    dropped: int = 0  # stale keys removed (the invitation had ended) or already moved on
    held: int = 0  # deliveries of a purchase a dispute froze (rule 14): still due, mailed after the thaw
    failed: int = 0
    continued: bool = False  # stopped for time; the next run (4 minutes on) takes the rest

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run(now: datetime, *, deadline: Callable[[], float] | None = None) -> Result:
    """Everything due at or before `now`, shard by shard; see the module's docstring."""
    result = Result()
    work = Chunks(_due(now), size=1, deadline=deadline, margin=STOP_MARGIN_S)  # one write a seat
    for (seat,) in work:
        result.due += 1
        try:
            outcome = act(seat, now)
        except SEAT_ERRORS:
            result.failed += 1
            logger.exception("a due seat failed; the next run retries it", extra={"key": seat.SK})
            continue
        setattr(result, outcome, getattr(result, outcome) + 1)
    result.continued = work.continued
    return result


def _due(now: datetime) -> Iterator[m.Seat]:
    """The seats due at or before `now`, shard by shard, page by page as they are reached."""
    until = clock.iso(now)
    store = get_store()
    for shard in range(settings().due_shards):
        yield from store.sends_due(shard, until)


def act(seat: m.Seat, now: datetime) -> str:
    """Deliver or nudge one due seat (as the index showed it); the name of the `Result` count it adds to."""
    purchase_id, seat_id = seat.purchase_id, str(seat.SK).removeprefix(k.SEAT_PREFIX)
    due_at, kind = str(seat.GSI2SK), seat.due_kind
    as_read: Condition = (due_at == m.Seat.GSI2SK) & (m.Seat.due_kind == str(kind))
    live = as_read & (m.Seat.term_end_ts > clock.epoch(now)) & m.Seat.nonce.exists()
    live &= m.Seat.recipient_email.exists() & m.Seat.erased_at.does_not_exist()  # shared links have none
    if kind == schedule.DELIVER:
        what, outcome = Touch.DELIVER, "delivered"
        changes = [m.Seat.last_sent_ts.set(clock.epoch(now)), *schedule.sent_now(purchase_id, seat_id, now)]
    elif kind == schedule.NUDGE:
        what, outcome = Touch.NUDGE, "nudged"
        changes = [m.Seat.nudged_at.set(clock.iso(now)), *schedule.removed()]
        live &= m.Seat.nudged_at.does_not_exist() & (
            m.Seat.delivery.does_not_exist() | (m.Seat.delivery == "sent")  # never to a bounced address
        )
    else:
        return _drop(purchase_id, seat_id, as_read)
    key = seat_key(purchase_id, seat_id)

    def build(steps: Steps) -> None:
        if kind == schedule.DELIVER:  # rule 14: no new invitation goes out while a dispute is open
            steps.check(
                "purchase", m.Purchase, k.purchase_pk(purchase_id), k.PURCHASE_SK, condition=NOT_FROZEN
            )
        touch(steps, what, key, changes, actor=audit.SCHEDULER, condition=live, at=now)

    try:
        get_store().write(build)
    except Refused as refused:
        if not refused.failed("seat"):
            if refused.failed("purchase"):
                return "held"  # frozen: the key stays due, the run after the thaw delivers it
            raise
        old = refused.old("seat")
        if isinstance(old, m.Seat) and due_at == old.GSI2SK and old.due_kind == kind:
            return _drop(purchase_id, seat_id, as_read)  # the invitation ended: the key is stale
        return "dropped"  # moved on meanwhile (a resend, a revoke, another run)
    return outcome


def _drop(purchase_id: str, seat_id: str, as_read: Condition) -> str:
    """Remove a stale due key, as it was read; bookkeeping: no new version, nothing announced."""
    with suppress(Refused):  # moved on meanwhile
        get_store().write(
            lambda steps: steps.update(
                "seat", seat_key(purchase_id, seat_id), schedule.removed(), condition=as_read
            )
        )
    return "dropped"
