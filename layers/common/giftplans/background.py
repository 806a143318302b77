"""Background work in chunks: the one loop of closing, expiry and deliveries.

A background job (a full refund's close job, the sweep's expiry of a purchase, the deliveries
run) works through seats a chunk at a time and, when its invocation is near its timeout, stops
before the next chunk and says so, so that the next run takes the rest:

    work = Chunks(seats, size=CHUNK, deadline=deadline, margin=STOP_MARGIN_S)
    for chunk in work:
        moved += len(in_one_or_each(chunk, build, each))
    if work.continued: ...          # stopped for time; all progress is in the table

`Chunks` reads `items` lazily (a Query's pages are fetched as they are reached) and asks
`deadline()` only after the chunk is taken, before it is handed out, so a run spends no round
trip it would not have spent seat by seat. `in_one_or_each` is the write of one chunk: one
transaction (`CHUNK` = 25 seats + their entitlements + one audit event <= 100 items), and, when
a condition refuses it (a seat moved, a run before died half-way), the chunk redone item by
item along the caller's exact single path, which learns each item as it now stands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import batched

from giftplans.observability import logger
from giftplans.store import get_store
from giftplans.store.writes import Refused, Steps

CHUNK = 25  # seats per transaction: 25 seats + 25 entitlements + the audit event <= 100 items

Deadline = Callable[[], float]  # the seconds left in this invocation


class Chunks[T]:
    """`items` in chunks of `size`; stops before a chunk once `deadline()` leaves under `margin` seconds.

    After the loop, `continued` is True when it stopped for time (what is left is the next run's).
    """

    def __init__(
        self, items: Iterable[T], *, size: int = CHUNK, deadline: Deadline | None = None, margin: float = 0.0
    ) -> None:
        self.items, self.size, self.deadline, self.margin = items, size, deadline, margin
        self.taken = 0  # items handed out so far
        self.continued = False

    def __iter__(self) -> Iterator[tuple[T, ...]]:
        for chunk in batched(self.items, self.size, strict=False):
            if self.deadline is not None and self.deadline() < self.margin:
                self.continued = True
                return
            self.taken += len(chunk)
            yield chunk


def in_one_or_each[T](
    chunk: Sequence[T],
    build: Callable[[Steps], None],
    each: Callable[[T], object],
    *,
    refused_note: str | None = None,
    seat_id: Callable[[T], str] = str,
) -> list[T]:
    """The chunk in one write (`build`); if refused, `each(item)` one by one. The items moved.

    `each` returns whether (or how many: 0 or 1) it moved its item; `refused_note`, when given, is
    logged (info) with the chunk's seat ids (`seat_id(item)`) before they are redone.
    """
    try:
        get_store().write(build)
        return list(chunk)
    except Refused:
        if refused_note is not None:
            logger.info(refused_note, extra={"seats": [seat_id(item) for item in chunk]})
    return [item for item in chunk if each(item)]
