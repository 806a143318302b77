"""Observability: every handler wears the one entry; log lines carry their own function's name and the
request's correlation id; cold starts and the business metrics (purchases, invitations, accepts, mail) are
emitted as CloudWatch EMF."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from giftplans import observability
from giftplans.purchases import fulfilment

from local.functions import FUNCTIONS, LambdaContext
from tests.support import gifts
from tests.support import stripe_events as se
from tests.support.apigw import http_event, load_handler
from tests.support.factories import paid_purchase
from tests.support.streams import change, record, seat, stream_event

pytestmark = pytest.mark.usefixtures("aws", "clock", "settings")

JOBS = sorted(p.parent.name for p in FUNCTIONS.glob("*/app.py"))
STATIC = {"openapi"}  # serves a file: imports nothing of the layer, so there is nothing to observe


class Lines(logging.Handler):
    """Each record as the deployed JSON line, formatted in the thread that wrote it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(observability.logger.registered_formatter)
        self.lines: list[dict[str, Any]] = []

    def emit(self, item: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(item)))

    def saying(self, message: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("message") == message]


@pytest.fixture
def lines() -> Iterator[Lines]:
    collect = Lines()
    target = logging.getLogger(observability.logger.name)
    target.addHandler(collect)
    yield collect
    target.removeHandler(collect)


def context(job: str) -> LambdaContext:
    return LambdaContext(function_name=f"gift-plans-{job}", memory_limit_in_mb=512)


def emf(out: str) -> list[dict[str, Any]]:
    """The CloudWatch embedded-metric blobs printed to stdout."""
    blobs = []
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blobs.append(json.loads(line))
    return blobs


def metric_values(out: str, name: str) -> list[float]:
    """Every value of metric `name`, flush by flush (EMF holds one value or a list of them)."""
    found: list[float] = []
    for blob in emf(out):
        value = blob.get(name)
        found += (
            [] if value is None else [float(v) for v in value] if isinstance(value, list) else [float(value)]
        )
    return found


@pytest.mark.parametrize("job", [j for j in JOBS if j not in STATIC])
def test_given_a_function_when_its_handler_is_loaded_then_it_wears_the_entry(job: str) -> None:
    assert getattr(load_handler(job).handler, observability.WORN, False) is True


def test_given_two_functions_in_one_process_when_they_run_at_once_then_each_line_carries_its_own_name(
    lines: Lines, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The webhook is mid-invocation (its context set) when the events publisher runs in another
    # thread, as on the local server; its line is written after the other function's context was set.
    webhook_started, publisher_done = threading.Event(), threading.Event()
    real = fulfilment.record_checkout

    def after_the_publisher(*args: Any, **kwargs: Any) -> str:
        webhook_started.set()
        assert publisher_done.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(fulfilment, "record_checkout", after_the_publisher)
    webhook = load_handler("stripe_webhook").handler
    publisher = load_handler("events_publisher").build(_Bus())
    request = se.webhook_request(se.checkout_completed(quantity=1))
    accepted = change(seat(state="invited", last_action="invite"), state="accepted", last_action="accept")
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(webhook(request, context("stripe_webhook"))))

    thread.start()
    assert webhook_started.wait(30)
    publisher(stream_event(record(seat(state="invited"), accepted)), context("events_publisher"))
    publisher_done.set()
    thread.join(60)

    assert answers and answers[0]["statusCode"] == 200, answers
    [recorded] = lines.saying("gift checkout recorded")
    [published] = lines.saying("events published")
    assert recorded["function_name"] == "gift-plans-stripe_webhook"
    assert published["function_name"] == "gift-plans-events_publisher"
    assert recorded["function_request_id"] != published["function_request_id"]


def test_given_an_http_request_when_its_function_logs_then_the_line_carries_the_request_id(
    lines: Lines,
) -> None:
    event = http_event("POST", "/webhooks/stripe", raw_body="{}", headers={"stripe-signature": "t=1,v1=x"})

    load_handler("stripe_webhook").handler(event, context("stripe_webhook"))

    [refused] = lines.saying("stripe webhook refused")
    assert refused["correlation_id"] == event["requestContext"]["requestId"]
    assert refused["function_name"] == "gift-plans-stripe_webhook"


def test_given_a_function_when_invoked_twice_then_one_cold_start_is_counted_and_logged(
    lines: Lines, capsys: pytest.CaptureFixture[str]
) -> None:
    from giftplans.observability import entry

    @entry()
    def handler(event: Any, context: Any) -> None:
        observability.logger.info("ran")

    handler({}, context("fresh"))
    handler({}, context("fresh"))

    out = capsys.readouterr().out
    cold = [blob for blob in emf(out) if "ColdStart" in blob]
    assert [blob["function_name"] for blob in cold] == ["gift-plans-fresh"]
    assert [line["cold_start"] for line in lines.saying("ran")] == [True, False]


def test_given_a_paid_checkout_when_fulfilled_then_purchases_and_seats_paid_are_counted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    request = se.webhook_request(se.checkout_completed(quantity=3))

    load_handler("stripe_webhook").handler(request, context("stripe_webhook"))
    load_handler("stripe_webhook").handler(request, context("stripe_webhook"))  # Stripe's retry: not again

    out = capsys.readouterr().out
    assert metric_values(out, "PurchasesPaid") == [1]
    assert metric_values(out, "SeatsPaid") == [3]


def test_given_invitations_and_an_accept_when_made_then_each_is_counted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    purchase_id = paid_purchase(gifts.BUYER, gifts.BUYER_EMAIL, quantity=3)
    capsys.readouterr()

    status, body = gifts.invite(purchase_id, "ann@example.com", "bob@example.com")
    assert status == 201, body
    status, body = gifts.accept(gifts.link(purchase_id, "0001"), gifts.who("ann-1", "ann@example.com"))
    assert status == 200, body

    out = capsys.readouterr().out
    assert metric_values(out, "InvitationsSent") == [2]
    assert metric_values(out, "InvitationsAccepted") == [1]


def test_given_a_notice_when_the_mailer_sends_it_then_one_email_is_counted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from giftplans.outbox import sending

    handler = load_handler("mailer").build(sending.SesSender())
    receipt = record(None, gifts_purchase())

    handler(stream_event(receipt), context("mailer"))
    handler(stream_event(receipt), context("mailer"))  # the stream's retry: sent once

    assert metric_values(capsys.readouterr().out, "EmailsSent") == [1]


def gifts_purchase() -> Any:
    from tests.support.streams import purchase

    return purchase()


class _Bus:
    def put_events(self, **request: Any) -> dict[str, Any]:
        return {"Entries": [{"EventId": str(i)} for i, _ in enumerate(request["Entries"])]}


def test_given_metrics_disabled_as_on_the_local_server_when_invoked_then_nothing_is_printed_or_kept(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from giftplans.observability import Metric, count, entry, metrics

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")

    @entry()
    def handler(event: Any, context: Any) -> None:
        count(Metric.EMAILS_SENT)

    handler({}, context("quiet"))

    assert emf(capsys.readouterr().out) == []
    assert not metrics.metric_set
