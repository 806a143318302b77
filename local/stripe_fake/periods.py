"""Billing periods on the calendar, as Stripe counts them.

A subscription bills from its billing cycle anchor in whole calendar intervals: a yearly
price renews on the same date next year, a monthly one on the same day of the month. A day
the target month lacks is clamped to its last day, and every period is counted from the
anchor (not from the previous period's end), so an anchor on 31 January renews on 28 (or
29) February, then on 31 March. 29 February renews on 28 February in a common year.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

INTERVAL_MONTHS = {"month": 1, "year": 12}
DAY_S = 24 * 3600
WEEK_S = 7 * DAY_S


def add(anchor: int, interval: str, count: int = 1, interval_count: int = 1) -> int:
    """The epoch second `count` whole intervals after `anchor` (UTC), on the calendar."""
    if interval == "day":
        return anchor + count * interval_count * DAY_S
    if interval == "week":
        return anchor + count * interval_count * WEEK_S
    months = INTERVAL_MONTHS[interval] * interval_count * count
    start = datetime.fromtimestamp(anchor, UTC)
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return int(start.replace(year=year, month=month + 1, day=day).timestamp())


def period_containing(anchor: int, interval: str, at: int, interval_count: int = 1) -> tuple[int, int]:
    """The (start, end) of the billing period that contains `at`, counted from `anchor` (`at` >= anchor)."""
    n = 0
    while add(anchor, interval, n + 1, interval_count) <= at:
        n += 1
    return add(anchor, interval, n, interval_count), add(anchor, interval, n + 1, interval_count)
