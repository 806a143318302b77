"""The one clock. Everything that asks "what time is it" asks `now()`.

Deployed, it is the system's UTC time. Tests and the local server move it with
`set_now()` (time keeps flowing from the instant set, like a test clock that was
advanced) or `freeze()` (time stands still), and `reset()` goes back to real time.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

_lock = threading.Lock()
_offset = timedelta(0)
_frozen: datetime | None = None


def _system_now() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    """The current instant, timezone-aware UTC."""
    with _lock:
        if _frozen is not None:
            return _frozen
        return _system_now() + _offset


def set_now(instant: datetime) -> None:
    """Move the clock to `instant`; it keeps running from there."""
    global _offset, _frozen
    with _lock:
        _frozen = None
        _offset = as_utc(instant) - _system_now()


def freeze(instant: datetime) -> None:
    """Stop the clock at `instant` until the next set/freeze/reset."""
    global _frozen
    with _lock:
        _frozen = as_utc(instant)


def reset() -> None:
    global _offset, _frozen
    with _lock:
        _offset = timedelta(0)
        _frozen = None


def as_utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("naive datetime: every instant in this service is UTC-aware")
    return instant.astimezone(UTC)


def parse_iso(text: str) -> datetime:
    """Parse an ISO-8601 instant ('Z' or an offset required)."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return as_utc(parsed)


def iso(instant: datetime) -> str:
    """ISO-8601 UTC with a 'Z', to the second: the API's time format."""
    return as_utc(instant).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def epoch(instant: datetime) -> int:
    return int(as_utc(instant).timestamp())
