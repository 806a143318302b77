"""Observability: the one logger, the one metrics object, and the entry every handler wears.

    from giftplans.observability import logger, count, Metric

    @entry(correlation_id_path=HTTP_REQUEST_ID)
    def handler(event, context): ...

`entry` puts the invocation's context on every log line the invocation writes, from the
handler or from the domain (function name, request id, ARN, memory, cold start), and
its correlation id (API Gateway's request id for HTTP routes); it emits a `ColdStart`
metric for the first invocation of each function, and flushes the business metrics
(`count(Metric.INVITATIONS_SENT, n)`, ...) when the invocation ends.

The keys are the invocation's own (Powertools' thread-local keys), not the process's: the
local server runs every function in one process, one thread per request, and a line
must carry the name of the function that wrote it, not of whichever ran last (issue
13). The function name is the Lambda context's `function_name`.

Tracing: the functions run with `Tracing: Active`, so Lambda records every invocation
(init, invoke, overhead) in X-Ray without an SDK. Powertools' Tracer, which adds a
subsegment per handler and per AWS call, is opt-in: the template's `EnableTracing`
parameter sets `ENABLE_TRACING` in every function's environment, and only when it is
"true" does this module build a `Tracer` (patching botocore, which boto3 and PynamoDB
call through) and `entry` wrap the handler in `tracer.capture_lambda_handler`. Off (the
default), `tracer` is None and the X-Ray SDK is never imported: importing and patching it
costs +40-60 ms of INIT CPU for an API function (bench/README.md), which the cold-start
budget has no room for. `POWERTOOLS_TRACE_DISABLED=true` keeps an enabled Tracer from
sending anything (its test mode).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities import jmespath_utils

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "gift-plans"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "GiftPlans"
HTTP_REQUEST_ID = "requestContext.requestId"  # API Gateway HTTP API's request id: the correlation id
TRACED_MODULES = ("botocore",)  # boto3 and PynamoDB both call AWS through botocore

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def tracing_enabled() -> bool:
    """The function's environment asks for Powertools' Tracer (template parameter EnableTracing)."""
    return (os.environ.get("ENABLE_TRACING") or "false").strip().lower() == "true"


def _tracer() -> Tracer | None:
    """Powertools' Tracer when tracing is on, else None: nothing of the X-Ray SDK is imported."""
    if not tracing_enabled():
        return None
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE, patch_modules=TRACED_MODULES)


tracer = _tracer()

Handler = TypeVar("Handler", bound=Callable[..., Any])
WORN = "__giftplans_entry__"  # set on a handler that wears `entry`


class Metric(StrEnum):
    """Business metrics (count per invocation; CloudWatch sums them)."""

    PURCHASES_PAID = "PurchasesPaid"  # purchases whose payment Stripe confirmed
    SEATS_PAID = "SeatsPaid"  # the plans in them
    INVITATIONS_SENT = "InvitationsSent"  # seats invited (a resend counts too: it sends a fresh link)
    INVITATIONS_ACCEPTED = "InvitationsAccepted"
    EMAILS_SENT = "EmailsSent"  # emails SES accepted
    EMAILS_PARKED = "EmailsParked"  # emails SES could not take now (throttling, quota, pause): redriven


def count(metric: Metric, value: int = 1) -> None:
    """Add to a business metric of this invocation (flushed when the handler returns)."""
    if value > 0:
        metrics.add_metric(name=metric.value, unit=MetricUnit.Count, value=value)


def entry(*, correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
    """The decorator every function's handler wears (see the module doc)."""

    def wear(handler: Handler) -> Handler:
        cold = True  # per function, not per process: the local server runs them all in one

        @functools.wraps(handler)
        def invoked(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            nonlocal cold
            was_cold, cold = cold, False
            outer = logger.thread_safe_get_current_keys()
            logger.thread_safe_append_keys(**_context_keys(context), cold_start=was_cold)
            if correlation_id_path and isinstance(event, dict):
                found = jmespath_utils.query(envelope=correlation_id_path, data=event)
                if found:
                    logger.thread_safe_append_keys(correlation_id=str(found))
            if was_cold:
                _cold_start(context)
            try:
                return handler(event, context, *args, **kwargs)
            finally:
                _flush()
                logger.thread_safe_clear_keys()
                if outer:
                    logger.thread_safe_append_keys(**outer)

        worn: Callable[..., Any] = invoked
        if tracer is not None:  # one subsegment around the whole invocation
            worn = functools.wraps(handler)(_traced(tracer, invoked))
        setattr(worn, WORN, True)
        return worn  # type: ignore[return-value]

    return wear


def _traced(active: Tracer, invoked: Callable[..., Any]) -> Callable[..., Any]:
    # Responses stay out of the trace: HTTP bodies carry recipients' addresses.
    traced: Callable[..., Any] = active.capture_lambda_handler(invoked, capture_response=False)
    return traced


def _context_keys(context: Any) -> dict[str, Any]:
    return {
        "function_name": getattr(context, "function_name", None),
        "function_request_id": getattr(context, "aws_request_id", None),
        "function_arn": getattr(context, "invoked_function_arn", None),
        "function_memory_size": getattr(context, "memory_limit_in_mb", None),
    }


def _cold_start(context: Any) -> None:
    if (
        is_metrics_disabled()
    ):  # Powertools' single_metric prints even then (the local server disables metrics)
        return
    name = str(getattr(context, "function_name", "") or "unknown")
    with single_metric(
        name="ColdStart",
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions={"function_name": name, "service": SERVICE},
    ):
        pass


def _flush() -> None:
    """Publish this invocation's business metrics (Powertools warns when there are none: skip then)."""
    if metrics.metric_set:
        metrics.flush_metrics()  # prints the EMF line (unless POWERTOOLS_METRICS_DISABLED) and clears
        metrics.clear_metrics()  # disabled: nothing printed, and nothing kept for the next invocation


def seconds_left(context: Any) -> Callable[[], float] | None:
    """The Lambda context's time left, in seconds, to ask again as a run goes on; None without a context."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    return lambda: remaining() / 1000.0
