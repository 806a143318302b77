"""The nightly sweep: reminders 30 and 7 days before `term_end`, expiry after it, and erasure
(expiry moves the due key on to the last milestone, `erase`: `privacy.erase_ended`).

What is due is found through the sparse due index (GSI2, `DUE#<yyyy-mm-dd>#<shard>` /
`PURCHASE#<purchase_id>`): only a purchase with a milestone still ahead carries the key,
so the work follows the number of purchases due, not the size of the table. The purchase,
not the seat, is the unit that falls due: all its seats share one term. The sweep never
Scans; per due purchase it reads its index item and one filtered Query of its seats in use,
and writes seats blind (expiry: 25 a transaction, `giftplans.expiry`), each conditional on
the seat's state, so a write that finds the work done (or not applicable) is refused.

Days and the cursor. A run processes every day from the first undone one (the `SWEEP` /
`CURSOR` item's `last_done_day` + 1) up to and including today (UTC), each day shard by
shard, page by page. A day is marked done only when all its shards and pages went through
without a failure, and only right after the day before it (the cursor's write is
conditional on that), so a failed or half-done day is retried by the next run. With no
cursor yet (a fresh table or a lost cursor) the first run starts `sweep_backfill_days`
(default 31) days back (a first milestone is ~335 days after the purchase, so nothing can be
due earlier); `run(since=...)` / `{"from": ...}` backfills further by hand.

Idempotency. Every step moves something under a condition (a reminded seat carries the reminder
in `reminders`; an expired seat is `expired`; the purchase's due key moves under `due_kind =
<the kind found>`): a night run twice, or again after a crash, repeats no transition and, as
each notice derives from one committed transition, sends no notice twice.

Late work. After missed nights a purchase acts on its latest milestone due by today and skips
earlier ones. A purchase found on a reminder's key after its term ended is expired then and
there; its due key goes in the final write, after every seat's expiry, so a run that dies
half-way leaves the key for the next.

More than one invocation's worth. `run` stops before a purchase when `deadline` leaves under
`STOP_MARGIN_S` seconds (or after `max_items`) and reports `continued=True` with `resume_day`; the
handler re-invokes itself with the same `now`. All progress lives in the table (cursor, due keys).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action as Update

from giftplans import clock, expiry, privacy, terms
from giftplans.entitlements import end_from_seat, not_ended
from giftplans.errors import AWS_ERRORS, DomainError
from giftplans.observability import logger
from giftplans.seats import IN_USE, Action, SeatState, Touch, allowed_from, target
from giftplans.settings import get as settings
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.transitions import Move, expiry_fold, seat_key, touch, transition
from giftplans.store.writes import Refused, stamp

STOP_MARGIN_S = 60.0  # stop starting new purchases when less than this is left of the invocation
ACTOR = "sweep"
DUE_MOVED = "due_moved"  # a due key moved (or dropped) without a notice: late or unpaid
REMINDER_NUMBER = {terms.REMIND_30: "30", terms.REMIND_7: "7"}
REMINDER_TOUCH = {terms.REMIND_30: Touch.REMIND_30, terms.REMIND_7: Touch.REMIND_7}
CURSOR_PK, CURSOR_SK = k.SWEEP_PK, k.CURSOR_SK
PAID = "paid"
# Failures of one purchase that must not stop the night: counted, logged, the day retried.
PURCHASE_ERRORS: tuple[type[Exception], ...] = (*AWS_ERRORS, DomainError)


@dataclass
class SweepResult:
    due: int = 0  # due index items seen
    purchases: int = 0  # due purchases handled (acted on, moved or found done)
    reminded: int = 0  # recipient reminders recorded on seats + buyer reminders recorded on purchases
    expired: int = 0  # seats moved to `expired`
    erased: int = 0  # seats whose recipient's address was erased (privacy)
    failed: int = 0  # due purchases that raised; their day stays undone
    days_done: int = 0  # days marked done on the cursor by this run
    continued: bool = False  # stopped early: more is due than this invocation could finish
    resume_day: str | None = None  # with `continued`: the day to carry on from
    last_done_day: str | None = None  # the cursor after this run

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SweepRefused(Exception):
    """A manual run's `now` is later than the clock allows (expiry_sweep's MAX_SKEW): nothing is done."""


class SweepIncomplete(Exception):
    """Raised by the handler after a run in which some purchases failed (alarm + on-failure destination)."""


class _Budget:
    def __init__(self, deadline: Callable[[], float] | None, max_items: int | None) -> None:
        self.deadline, self.left = deadline, max_items

    def exhausted(self) -> bool:
        if self.left is not None and self.left <= 0:
            return True
        return self.deadline is not None and self.deadline() < STOP_MARGIN_S

    def spend(self) -> None:
        if self.left is not None:
            self.left -= 1


# ---- the run ------------------------------------------------------------------------------------------


def run(
    now: datetime,
    *,
    deadline: Callable[[], float] | None = None,
    max_items: int | None = None,
    since: date | None = None,
) -> SweepResult:
    """Process every undone day up to `now`'s UTC date (or from `since`). See the module docstring.

    `deadline()` returns the seconds left in this invocation; `max_items` caps the purchases
    handled. Either makes the run stop early with `continued=True` and `resume_day` set.
    """
    now = clock.as_utc(now)
    today = now.date()
    result = SweepResult()
    cursor = read_cursor()
    result.last_done_day = cursor
    if since is not None:
        day = since
    elif cursor is not None:
        day = date.fromisoformat(cursor) + timedelta(days=1)
    else:
        day = today - timedelta(days=settings().sweep_backfill_days)
    budget = _Budget(deadline, max_items)
    while day <= today:
        finished, failures = _sweep_day(day, now, result, budget)
        if not finished:
            result.continued, result.resume_day = True, day.isoformat()
            break
        if failures == 0 and _advance_cursor(day, now):
            result.days_done += 1
            result.last_done_day = day.isoformat()
        day += timedelta(days=1)
    logger.info("sweep run", extra={"sweep": result.as_dict(), "today": today.isoformat()})
    return result


def _sweep_day(day: date, now: datetime, result: SweepResult, budget: _Budget) -> tuple[bool, int]:
    """All shards and pages of one day; returns (went through to the end, failures)."""
    failures = 0
    for shard in range(settings().due_shards):
        for item in _due(day, shard):
            if budget.exhausted():
                return False, failures
            budget.spend()
            result.due += 1
            try:
                handle(item, now, result)
                result.purchases += 1
            except PURCHASE_ERRORS:
                failures += 1
                result.failed += 1
                logger.exception(
                    "sweep: purchase failed; its day stays undone",
                    extra={"purchase_id": item.purchase_id, "day": day.isoformat()},
                )
    return True, failures


def _due(day: date, shard: int) -> Iterable[m.Purchase]:
    """The due index partition of one day and shard, page by page (a Query, never a Scan)."""
    return get_store().due(day.isoformat(), shard)


# ---- one due purchase ---------------------------------------------------------------------------------


def handle(purchase: m.Purchase, now: datetime, result: SweepResult) -> None:
    """Act on one due purchase as read from the due index (or a fresh read). Idempotent."""
    found = purchase.due_kind
    if found not in terms.MILESTONE_KINDS:
        return
    if found == terms.ERASE:  # whatever became of the purchase since it ended
        result.erased += privacy.erase_ended(purchase, ACTOR, now)
        return
    if purchase.status != PAID:
        # Never paid, or refunded (its seats were cancelled then): nothing to remind or expire.
        _write_purchase(purchase, found, lambda _p: [*_touch(DUE_MOVED), *_remove_due()], now)
        return
    end = clock.parse_iso(purchase.term_end)
    act = _acting_kind(end, found, now.date())
    if act == terms.EXPIRE or not terms.is_active(end, now):
        # The term has ended (even when the expire day itself is not due yet, or the nights in
        # between were missed): expire now, no late reminder. `_expire` removes the due key in
        # its last write, only after every seat's expiry is recorded (issue 14, missed nights).
        _expire(purchase, found, now, result)
    else:
        _remind(purchase, found, act, now, result)


def _acting_kind(end: datetime, found: str, today: date) -> str:
    """The latest milestone from `found` on that is due by `today` (earlier, late ones are skipped).

    Never past the expiry: the erasure comes after it as a milestone of its own.
    """
    steps = terms.milestones(end, settings().erase_after_days)
    steps = steps[: [kind for kind, _ in steps].index(terms.EXPIRE) + 1]
    kinds = [kind for kind, _ in steps]
    act = found
    for kind, day in steps[kinds.index(found) + 1 :]:
        if date.fromisoformat(day) <= today:
            act = kind
    return act


REMINDER_STATES = frozenset(s.value for s in IN_USE)  # the states the reminder touches apply in


def _remind(purchase: m.Purchase, found: str, kind: str, now: datetime, result: SweepResult) -> None:
    number = REMINDER_NUMBER[kind]
    for seat_id in _holder_seats(purchase):
        try:
            get_store().write(
                partial(
                    touch,
                    kind=REMINDER_TOUCH[kind],
                    item=seat_key(purchase.purchase_id, seat_id),
                    changes=[m.Seat.reminders.add({number})],
                    actor=ACTOR,
                    condition=~m.Seat.reminders.contains(number),
                    detail={"days": int(number)},
                    at=now,
                )
            )
            result.reminded += 1
        except Refused:
            pass  # not accepted/claimed (invited, upgraded, ...) or already reminded
    if _move_due(purchase, found, kind, kind, now, extra=[m.Purchase.reminders.add({number})]):
        result.reminded += 1


def _move_due(
    purchase: m.Purchase, found: str, done: str, action: str, now: datetime, extra: list[Update] | None = None
) -> bool:
    """Record `action` on the purchase and move its due key to the milestone after `done`."""
    nxt = terms.next_milestone(clock.parse_iso(purchase.term_end), done, settings().erase_after_days)

    def actions(_fresh: m.Purchase) -> list[Update]:
        if nxt is None:
            return [*_touch(action), *(extra or []), *_remove_due()]
        kind, day = nxt
        shard = terms.due_shard(purchase.purchase_id, settings().due_shards)
        return [
            *_touch(action),
            *(extra or []),
            m.Purchase.due_kind.set(kind),
            m.Purchase.GSI2PK.set(k.due_gsi(day, shard)),
            m.Purchase.GSI2SK.set(k.due_gsi_sk(purchase.purchase_id)),
        ]

    return _write_purchase(purchase, found, actions, now, paid_only=True)


def _expire(purchase: m.Purchase, found: str, now: datetime, result: SweepResult) -> None:
    """Every live seat -> expired, 25 to a write (`giftplans.expiry`), then the purchase, last."""
    ended_at = clock.iso(now)

    def one_by_one(seat_id: str, held: bool) -> int:  # a refused chunk (expiry.py), seat by seat
        seen = SweepResult()
        holder = _expire_seat(purchase.purchase_id, seat_id, held, now, seen)
        if holder is not None:  # its entitlement ends if it still comes from this seat (else they moved on)
            end = partial(end_from_seat, seat=holder, at=now, step="entitlement", condition=not_ended())
            with suppress(Refused):
                get_store().write(end)
        return seen.expired

    result.expired += expiry.expire_seats(purchase.purchase_id, int(purchase.quantity), now, one_by_one)

    def actions(fresh: m.Purchase) -> list[Update]:
        counts = fresh.seat_counts.as_dict() if fresh.seat_counts is not None else {}
        return [
            *expiry_fold(counts, int(fresh.quantity))[0],
            m.Purchase.expired_at.set(ended_at),
            *stamp(m.Purchase, terms.EXPIRE, ACTOR),
            *privacy.erase_due(purchase),
        ]

    def exact(fresh: m.Purchase) -> Condition:
        # The fold above is computed from these counts: write it only if they still hold.
        counts = fresh.seat_counts.as_dict() if fresh.seat_counts is not None else {}
        return expiry_fold(counts, int(fresh.quantity))[1]

    _write_purchase(purchase, found, actions, now, paid_only=True, condition=exact)


def _expire_seat(
    purchase_id: str, seat_id: str, held: bool, now: datetime, result: SweepResult
) -> m.Seat | None:
    """One seat -> expired with its audit event (a refused chunk's path); held: the seat as it stood.

    The seat returned is the one whose holder's entitlement ends (None: nobody's).
    No read: the seat is learnt from a refusal (ALL_OLD). A seat not in use is tried as
    available; one in use is first probed with version 0 (never a seat's: they start at 1),
    whose refusal names its state, version and holder; the next try is exact.
    """
    expirable = allowed_from(Action.EXPIRE)
    state, version = SeatState.AVAILABLE, (0 if held else None)
    holder: m.Seat | None = None  # as it stood, when held by someone
    for _ in range(3):
        move = Move(seat_id, [m.Seat.ended_at.set(clock.iso(now))], from_state=state, version=version)
        try:
            get_store().write(
                partial(
                    transition,
                    action=Action.EXPIRE,
                    purchase_id=purchase_id,
                    moves=[move],
                    actor=ACTOR,
                    purchase=None,
                    detail={"previous_state": state.value},
                    at=now,
                )
            )
        except Refused as refused:
            was = refused.old("seat")
            if not isinstance(was, m.Seat):
                return None  # no such seat
            if was.state not in expirable:
                # Already expired by an earlier run that may have died before ending the entitlement.
                done_by_us = was.state == target(Action.EXPIRE) and was.last_action == Action.EXPIRE
                return was if done_by_us and was.recipient_sub else None
            state, version = SeatState(was.state), int(was.version)
            holder = was if was.recipient_sub else None
            continue
        result.expired += 1
        return holder if state in IN_USE else None
    raise _Stuck(purchase_id)


def _write_purchase(
    purchase: m.Purchase,
    found: str,
    actions: Callable[[m.Purchase], list[Update]],
    now: datetime,
    *,
    paid_only: bool = False,
    condition: Callable[[m.Purchase], Condition] | None = None,
) -> bool:
    """The purchase's step, conditional on its due kind still being `found`.

    The first try uses the index projection as read; if its condition fails, one fresh
    read decides: the key moved (another run did it: done), the purchase is no longer
    paid (handle it again as it now is), or the counts changed (try again with them).
    """
    current = purchase
    for _ in range(3):
        cond = m.Purchase.due_kind == found
        if paid_only:
            cond &= m.Purchase.status == PAID
        if condition is not None:
            cond &= condition(current)
        try:
            _update(m.Purchase(k.purchase_pk(purchase.purchase_id), k.PURCHASE_SK), actions(current), cond)
            return True
        except Refused:
            fresh = get_store().purchase(purchase.purchase_id)
            if fresh is None or fresh.due_kind != found:
                return False
            if paid_only and fresh.status != PAID:
                handle(fresh, now, SweepResult())
                return False
            current = fresh
    raise _Stuck(purchase.purchase_id)


class _Stuck(DomainError):
    def __init__(self, purchase_id: str) -> None:
        super().__init__(f"Purchase {purchase_id} kept changing under the sweep; it is retried next run.")


def _touch(action: str) -> list[Update]:
    """What every purchase write of the sweep sets (docs/design.md, the transition contract)."""
    return stamp(m.Purchase, action, ACTOR)


def _remove_due() -> list[Update]:
    return [m.Purchase.GSI2PK.remove(), m.Purchase.GSI2SK.remove(), m.Purchase.due_kind.remove()]


def _holder_seats(purchase: m.Purchase) -> list[str]:
    """The seats a reminder goes to (accepted or claimed): one filtered Query of the partition's seats."""
    return get_store().seat_ids_in(purchase.purchase_id, sorted(REMINDER_STATES))


# ---- single conditional writes --------------------------------------------------------------------------


def _update(item: m.Item, actions: list[Update], condition: Condition) -> None:
    """One conditional UpdateItem, no read (`Refused` carries the item as it stood)."""
    get_store().write(lambda steps: steps.update("item", item, actions, condition=condition))


# ---- the cursor ----------------------------------------------------------------------------------------


def read_cursor() -> str | None:
    """The last day fully done, or None before the first run."""
    cursor = get_store().sweep_cursor()
    return cursor.last_done_day if cursor is not None else None


def _advance_cursor(day: date, now: datetime) -> bool:
    """Mark `day` done, only right after the day before it (never backwards, never over a gap)."""
    text, before = day.isoformat(), (day - timedelta(days=1)).isoformat()
    cursor = m.SweepCursor(CURSOR_PK, CURSOR_SK, last_done_day=text, updated_at=clock.iso(now))
    condition = m.SweepCursor.PK.does_not_exist() | (
        (m.SweepCursor.last_done_day < text) & (m.SweepCursor.last_done_day >= before)
    )
    try:
        get_store().write(lambda steps: steps.put("cursor", cursor, condition=condition))
        return True
    except Refused:
        return False


# ---- self-continuation ---------------------------------------------------------------------------------


def invoke_self(function_arn: str) -> Callable[[dict[str, Any]], None]:
    """`continue_with` for a deployed function: an asynchronous InvokeFunction of itself.

    The function needs `lambda:InvokeFunction` on its own ARN.
    """

    def continue_with(payload: dict[str, Any]) -> None:
        import boto3

        boto3.client("lambda").invoke(
            FunctionName=function_arn, InvocationType="Event", Payload=json.dumps(payload).encode()
        )

    return continue_with
