"""The 1-year term and the dates that hang off it. Pure functions, UTC only.

- A term starts at the instant the checkout completed and ends one calendar year
  later at the same time of day; 29 February maps to 28 February (SPEC section 1).
- Day counts are whole UTC calendar days between dates, never between instants:
  `term_days` is 365 or 366, `remaining_days` counts from the quote's UTC date to
  `term_end`'s UTC date and is 0 once the term has ended.
- A term is active while `now < term_end`; nothing is active at or after `term_end`.
- Milestones are the days the nightly sweep acts on a purchase: reminders 30 and 7
  days before `term_end`, expiry on the day after `term_end` (when it has surely
  passed, whatever time of day the sweep runs), and the erasure of its recipients'
  addresses `erase_after_days` (90) after `term_end` (docs/privacy.md).
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

from giftplans.clock import as_utc
from giftplans.seats import Action, Touch

# Kinds of milestone (the due index's `due_kind`), and the `last_action` of the sweep's writes.
REMIND_30 = Touch.REMIND_30.value
REMIND_7 = Touch.REMIND_7.value
EXPIRE = Action.EXPIRE.value
ERASE = Touch.ERASE.value
MILESTONE_KINDS: tuple[str, ...] = (REMIND_30, REMIND_7, EXPIRE, ERASE)
ERASE_AFTER_DAYS = 90  # the default; the sweep passes settings().erase_after_days


def has_ended(term_end_ts: int | float, now: datetime) -> bool:
    """Whether a term ending at epoch `term_end_ts` has ended at `now`."""
    return int(as_utc(now).timestamp()) >= int(term_end_ts)


def term_end(term_start: datetime) -> datetime:
    """One calendar year after `term_start`, same time of day; 29 Feb -> 28 Feb."""
    start = as_utc(term_start)
    try:
        return start.replace(year=start.year + 1)
    except ValueError:  # 29 February and the next year is not a leap year
        return start.replace(year=start.year + 1, day=28)


def term_days(term_start: datetime, term_end: datetime) -> int:
    """Calendar days from the start's UTC date to the end's UTC date (365 or 366 for a term)."""
    return (as_utc(term_end).date() - as_utc(term_start).date()).days


def remaining_days(term_end: datetime, at: datetime) -> int:
    """Whole UTC days from `at`'s date to `term_end`'s date; 0 once `at >= term_end`, never negative."""
    end, instant = as_utc(term_end), as_utc(at)
    if instant >= end:
        return 0
    return max(0, (end.date() - instant.date()).days)


def days_left(term_end: datetime, now: datetime) -> int:
    """The Billing page's "days left": the same count as `remaining_days`."""
    return remaining_days(term_end, now)


def is_active(term_end: datetime, now: datetime) -> bool:
    """A term is active strictly before its end instant."""
    return as_utc(now) < as_utc(term_end)


def milestones(term_end: datetime, erase_after_days: int = ERASE_AFTER_DAYS) -> list[tuple[str, str]]:
    """The sweep's due days for a term, in order, as (kind, 'YYYY-MM-DD') pairs.

    The erasure comes at least a day after the expiry, whatever `erase_after_days` says.
    """
    end = as_utc(term_end)
    expiry = end.date() + timedelta(days=1)
    days: list[tuple[str, date]] = [
        (REMIND_30, (end - timedelta(days=30)).date()),
        (REMIND_7, (end - timedelta(days=7)).date()),
        (EXPIRE, expiry),
        (ERASE, max(expiry + timedelta(days=1), end.date() + timedelta(days=erase_after_days))),
    ]
    return [(kind, day.isoformat()) for kind, day in days]


def next_milestone(
    term_end: datetime, after_kind: str | None, erase_after_days: int = ERASE_AFTER_DAYS
) -> tuple[str, str] | None:
    """The milestone that follows `after_kind` (None: the first one); None after `erase`."""
    steps = milestones(term_end, erase_after_days)
    if after_kind is None:
        return steps[0]
    if after_kind not in MILESTONE_KINDS:
        raise ValueError(f"unknown milestone kind {after_kind!r}; expected one of {MILESTONE_KINDS}")
    index = MILESTONE_KINDS.index(after_kind) + 1
    return steps[index] if index < len(steps) else None


def due_shard(purchase_id: str, shards: int) -> int:
    """A stable shard number in [0, shards) for a purchase's due-day key (`DUE#<day>#<n>`).

    Uses SHA-256 rather than `hash()`, which is salted per process.
    """
    if shards < 1:
        raise ValueError("shards must be at least 1")
    digest = hashlib.sha256(purchase_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shards
