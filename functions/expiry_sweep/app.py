"""The nightly sweep (EventBridge schedule) and manual runs: expiry and reminders (giftplans.sweep).

Events:
- the schedule's event: runs for `giftplans.clock.now()` (not the event's `time`, so the
  local server's clock and the tests' clock decide what "now" is);
- `{"now": "<ISO-8601>"}`: a manual run as of that instant; `"from": "YYYY-MM-DD"` also
  re-processes every day from that one (a backfill). A `now` later than `clock.now()` plus
  `MAX_SKEW` (5 minutes) is refused (`SweepRefused`, nothing changed): deployed the clock is
  the real one, so a typo'd future date cannot expire anything; the local server and the
  tests move `clock` itself;
- `{"now": ..., "from": ..., "hop": n}`: this function's own continuation (see below);
- `{"close": "<purchase_id>"}` (and `"hop"`): a full refund or lost dispute the webhook recorded,
  worked through in the background (`giftplans.closing`; Stripe's webhook invokes it
  asynchronously). Support can send the same event by hand to finish a job that failed.

When more is due than one invocation can finish, the run stops a minute before the
timeout and this function invokes itself asynchronously with the same `now`, carrying on
from the day it stopped at (`build(continue_with)` wires how: the function's own
asynchronous invocation when deployed, a recorder in tests). Progress lives in the table
(the cursor and the due keys), so nothing else (no queue, no state machine) is needed.
A run in which any purchase failed raises at the end, so the on-failure destination and
the Errors alarm fire; the failed day stays undone and the next run retries it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from giftplans import clock, closing, sweep
from giftplans.observability import entry, logger, metrics
from pydantic import BaseModel, ConfigDict, Field

MAX_HOPS = 24  # continuations of one run; more means something is wrong: stop and alarm
MAX_SKEW = timedelta(minutes=5)  # a payload `now` may run ahead of the clock by this much, no more


class SweepRequest(BaseModel):
    """A manual or continued run; the scheduled event's own fields are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    now: datetime | None = None
    since: date | None = Field(default=None, alias="from")
    hop: int = Field(default=0, ge=0)
    close: str | None = Field(default=None, min_length=1, max_length=64)  # a purchase to close


Continue = Callable[[dict[str, Any]], None]


def build(
    continue_with: Continue | None = None,
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The sweep's handler; `continue_with` carries on a run (default: this function invoking itself)."""

    @entry()
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        go_on = continue_with or sweep.invoke_self(context.invoked_function_arn)
        return _run(event, context, go_on)

    return handler


def _run(event: dict[str, Any], context: Any, continue_with: Continue) -> dict[str, Any]:
    request = SweepRequest.model_validate(event or {})
    if request.close is not None:
        return _close(request, context, continue_with)
    now = clock.as_utc(request.now) if request.now else clock.now()
    if now > clock.now() + MAX_SKEW:
        # A typo'd future date would expire seats for good and mail "plan ended": refuse, change nothing.
        logger.error("sweep refused: its `now` is ahead of the clock", extra={"now": clock.iso(now)})
        raise sweep.SweepRefused(
            f"The sweep's now ({clock.iso(now)}) is later than the clock ({clock.iso(clock.now())}) "
            f"plus {int(MAX_SKEW.total_seconds() // 60)} minutes; nothing was changed."
        )
    result = sweep.run(now, deadline=_seconds_left(context), since=request.since)
    for name, value in (
        ("Due", result.due),
        ("Expired", result.expired),
        ("Reminded", result.reminded),
        ("Failed", result.failed),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    if result.continued:
        if request.hop >= MAX_HOPS:
            raise sweep.SweepIncomplete(f"Still not done after {MAX_HOPS} continuations; see the logs.")
        continue_with({"now": clock.iso(now), "from": result.resume_day, "hop": request.hop + 1})
        logger.info("sweep continues in a new invocation", extra={"resume_day": result.resume_day})
    if result.failed:
        raise sweep.SweepIncomplete(f"{result.failed} due purchase(s) failed; their days are retried later")
    return result.as_dict()


def _close(request: SweepRequest, context: Any, continue_with: Continue) -> dict[str, Any]:
    assert request.close is not None
    result = closing.run(request.close, deadline=_seconds_left(context))
    if result.continued:
        if request.hop >= MAX_HOPS:
            raise sweep.SweepIncomplete(f"Closing {request.close} not done after {MAX_HOPS} continuations.")
        continue_with({"close": request.close, "hop": request.hop + 1})
    elif not result.done:
        raise sweep.SweepIncomplete(f"Closing {request.close} did not finish; it is retried.")
    return result._asdict()


def _seconds_left(context: Any) -> Callable[[], float] | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return lambda: remaining() / 1000.0


handler = build()
