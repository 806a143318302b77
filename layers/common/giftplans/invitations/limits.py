"""Rule 13: how many invitation emails a buyer may send per UTC day.

The limit is `max(daily_invite_limit, seats the buyer paid for)` (SPEC rule 13: a company
that paid for 1000 seats can invite them all today). The counter (`ACCOUNT#<sub>` /
`INVITES#<day>`, with a TTL) is written in the same write as the invitations or the
resend it counts, on condition that it stays within the limit, so two racing requests
cannot both pass it. A refused request counts nothing. An invite, which reads the
buyer's profile, records the limit it computed on the counter (`cap`), so a resend (one
blind write, no read) is held to the same limit: within the configured one, or below `cap`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.expressions.condition import Condition

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


def daily_limit(profile: m.Item | None) -> int:
    """Rule 13: the configured limit, or the seats the buyer paid for if that is more."""
    paid = int(profile.plans_bought or 0) if isinstance(profile, m.Profile) else 0
    return max(settings().daily_invite_limit, paid)


def limit_of(counter: m.Item | None) -> int:
    """The limit a counter was last held to (a resend's refusal explains itself from it)."""
    cap = int(counter.cap or 0) if isinstance(counter, m.InviteCounter) else 0
    return max(settings().daily_invite_limit, cap)


def daily_limit_reached(now: datetime, limit: int, sent: int | None = None) -> TooMany:
    """429 with when the window resets and how many invitations are left today."""
    resets = next_midnight(now)
    wait = max(1, clock.epoch(resets) - clock.epoch(now))
    remaining = max(0, limit - sent) if sent is not None else 0
    return TooMany(
        f"You can send at most {limit} invitation emails a day and {remaining} are left today; "
        f"the limit resets at {clock.iso(resets)}.",
        code="daily_limit_reached",
        details={"resets_at": clock.iso(resets), "remaining": remaining, "limit": limit},
        headers={"Retry-After": str(wait)},
    )


def count_sends(steps: Steps, sub: str, now: datetime, n: int, limit: int | None = None) -> None:
    """Add `n` to the buyer's emails today, refused past the limit (step "counter").

    With `limit` (an invite, which read the profile) the condition is exact and the counter
    records it as `cap`; without (a resend) the send passes within the configured limit or
    below the `cap` an invite recorded today.
    """
    configured = settings().daily_invite_limit
    held_to = configured if limit is None else limit
    if n > held_to:  # with no counter yet the condition below would let any n through
        raise daily_limit_reached(now, held_to, 0)
    pk, sk = counter_key(sub, now)
    actions = [
        m.InviteCounter.type.set(m.InviteCounter),
        m.InviteCounter.sent.add(n),
        m.InviteCounter.expires_at.set(clock.epoch(next_midnight(now)) + KEPT_AFTER_MIDNIGHT_S),
    ]
    condition: Condition = m.InviteCounter.sent.does_not_exist() | (m.InviteCounter.sent <= held_to - n)
    if limit is not None:
        actions.append(m.InviteCounter.cap.set(limit))
    elif n == 1:
        condition = condition | (m.InviteCounter.sent < m.InviteCounter.cap)
    steps.update("counter", m.InviteCounter(pk, sk), actions=actions, condition=condition)
