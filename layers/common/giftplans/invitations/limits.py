"""Rule 13: at most `daily_invite_limit` invitation emails a buyer sends per UTC day.

The counter (`ACCOUNT#<sub>` / `INVITES#<day>`, with a TTL) is written in the same write as
the invitations or the resend it counts, on condition that it stays within the limit, so
two racing requests cannot both pass it. A refused request counts nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from giftplans import clock
from giftplans.errors import TooMany
from giftplans.settings import get as settings
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.writes import Steps

KEPT_AFTER_MIDNIGHT_S = 2 * 86400  # the counter's TTL: two days after its day ends


def next_midnight(now: datetime) -> datetime:
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def counter_key(sub: str, now: datetime) -> tuple[str, str]:
    """Today's counter of `sub` (to read it beside the purchase, in one BatchGetItem)."""
    return k.account_pk(sub), k.invites_sk(now.date().isoformat())


def sent_today(counter: m.Item | None) -> int:
    return int(counter.sent or 0) if isinstance(counter, m.InviteCounter) else 0


def daily_limit_reached(now: datetime, limit: int) -> TooMany:
    resets = next_midnight(now)
    wait = max(1, clock.epoch(resets) - clock.epoch(now))
    return TooMany(
        f"You can send at most {limit} invitation emails a day; the limit resets at {clock.iso(resets)}.",
        code="daily_limit_reached",
        details={"resets_at": clock.iso(resets)},
        headers={"Retry-After": str(wait)},
    )


def count_sends(steps: Steps, sub: str, now: datetime, n: int) -> None:
    """Add `n` to the buyer's emails today, refused past the daily limit (step "counter")."""
    limit = settings().daily_invite_limit
    if n > limit:  # with no counter yet the condition below would let any n through
        raise daily_limit_reached(now, limit)
    pk, sk = counter_key(sub, now)
    steps.update(
        "counter",
        m.InviteCounter(pk, sk),
        actions=[
            m.InviteCounter.type.set(m.InviteCounter),
            m.InviteCounter.sent.add(n),
            m.InviteCounter.expires_at.set(clock.epoch(next_midnight(now)) + KEPT_AFTER_MIDNIGHT_S),
        ],
        condition=m.InviteCounter.sent.does_not_exist() | (m.InviteCounter.sent <= limit - n),
    )
