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
from typing import Any, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit
from giftplans import clock, closing, sweep
from giftplans.observability import entry, logger, metrics, seconds_left

MAX_HOPS = 24  # continuations of one run; more means something is wrong: stop and alarm
MAX_SKEW = timedelta(minutes=5)  # a payload `now` may run ahead of the clock by this much, no more


class BadSweepRequest(ValueError):
    """A manual or continued run's payload is malformed: nothing is done."""


class SweepRequest(NamedTuple):
    """A manual or continued run; the scheduled event's own fields are ignored.

    Read by hand rather than by a pydantic model: pydantic's import is about a third of this
    function's INIT (issue 15's cold-start target for schedule functions is the bare boto3 one).
    """

    now: datetime | None = None
    since: date | None = None  # the payload's "from"
    hop: int = 0
    close: str | None = None  # a purchase to close

    @classmethod
    def of(cls, event: dict[str, Any]) -> SweepRequest:
        """The run `event` asks for; a malformed field raises `BadSweepRequest` and nothing is done."""
        try:
            now = clock.parse_iso(_text(event, "now")) if event.get("now") is not None else None
        except ValueError:
            raise BadSweepRequest("'now' is an ISO 8601 instant, e.g. 2027-03-02T03:00:00Z.") from None
        try:
            since = date.fromisoformat(_text(event, "from")) if event.get("from") is not None else None
        except ValueError:
            raise BadSweepRequest("'from' is a day, e.g. 2027-01-29.") from None
        hop = event.get("hop", 0)
        if type(hop) is not int or hop < 0:
            raise BadSweepRequest("'hop' is a whole number, 0 or more.")
        close = event.get("close")
        if close is not None and not (isinstance(close, str) and 1 <= len(close) <= 64):
            raise BadSweepRequest("'close' is a purchase id (1 to 64 characters).")
        return cls(now, since, hop, close)


def _text(event: dict[str, Any], name: str) -> str:
    value = event[name]
    if not isinstance(value, str):
        raise ValueError(name)
    return value


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
    request = SweepRequest.of(event or {})
    if request.close is not None:
        return _close(request, context, continue_with)
    now = request.now or clock.now()
    if now > clock.now() + MAX_SKEW:
        # A typo'd future date would expire seats for good and mail "plan ended": refuse, change nothing.
        logger.error("sweep refused: its `now` is ahead of the clock", extra={"now": clock.iso(now)})
        raise sweep.SweepRefused(
            f"The sweep's now ({clock.iso(now)}) is later than the clock ({clock.iso(clock.now())}) "
            f"plus {int(MAX_SKEW.total_seconds() // 60)} minutes; nothing was changed."
        )
    result = sweep.run(now, deadline=seconds_left(context), since=request.since)
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
    result = closing.run(request.close, deadline=seconds_left(context))
    if result.continued:
        if request.hop >= MAX_HOPS:
            raise sweep.SweepIncomplete(f"Closing {request.close} not done after {MAX_HOPS} continuations.")
        continue_with({"close": request.close, "hop": request.hop + 1})
    elif not result.done:
        raise sweep.SweepIncomplete(f"Closing {request.close} did not finish; it is retried.")
    return result._asdict()


handler = build()
