"""Scheduled invitations and recipients' reminders, every 4 minutes (EventBridge; giftplans.deliveries).

Any event runs for `giftplans.clock.now()` (not the event's `time`, so the local server's
clock and the tests' clock decide what "now" is): it mails nothing early, whatever the payload.
A seat that failed stays due and the next run retries it; a run in which one failed raises at
the end, so the on-failure destination and the Errors alarm fire.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from giftplans import clock, deliveries
from giftplans.observability import entry, metrics, seconds_left


class DeliveriesIncomplete(Exception):
    """Some due seats failed; they stay due and the next run retries them."""


@entry()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = deliveries.run(clock.now(), deadline=seconds_left(context))
    for name, value in (
        ("Delivered", result.delivered),
        ("Nudged", result.nudged),
        ("DeliveriesFailed", result.failed),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    if result.failed:
        raise DeliveriesIncomplete(f"{result.failed} due seat(s) failed; the next run retries them")
    return result.as_dict()
