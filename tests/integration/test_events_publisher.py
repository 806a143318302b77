"""The events publisher under moto: domain events on EventBridge, at least once, failures retried."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from giftplans.outbox import publishing

from tests.support.apigw import FakeContext, load_handler
from tests.support.streams import PURCHASE_ID, change, purchase, record, seat, stream_event

BUS = "gift-plans-test-bus"


@pytest.fixture
def bus(aws: None, clock: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A bus whose events land in an SQS queue; returns the queue URL."""
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    from giftplans import settings

    settings.get.cache_clear()
    client = boto3.client("events")
    client.create_event_bus(Name=BUS)
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="events-test")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    client.put_rule(Name="all", EventBusName=BUS, EventPattern=json.dumps({"source": ["gift-plans"]}))
    client.put_targets(Rule="all", EventBusName=BUS, Targets=[{"Id": "q", "Arn": arn}])
    return url


def drain(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    out: list[dict[str, Any]] = []
    while True:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        messages = answer.get("Messages", [])
        if not messages:
            return out
        for message in messages:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def run(*records: dict[str, Any]) -> dict[str, Any]:
    handler = load_handler("events_publisher").build(publishing.EventBridge())  # a client in this test's moto
    return handler(stream_event(*records), FakeContext())


def accept_record() -> dict[str, Any]:
    invited = change(
        seat(), state="invited", recipient_email="zoë+gift@example.com", nonce="n" * 32, last_action="invite"
    )
    accepted = change(
        invited,
        state="accepted",
        recipient_sub="rcpt-sub",
        nonce=None,
        last_action="accept",
        accepted_at="2026-03-02T00:00:00Z",
    )
    return record(invited, accepted)


def test_given_accept_record_when_published_then_seat_accepted_and_entitlement_granted_on_the_bus(bus):
    assert run(accept_record()) == {"batchItemFailures": []}

    got = {e["detail-type"]: e for e in drain(bus)}
    assert set(got) == {"seat.accepted", "entitlement.granted"}
    granted = got["entitlement.granted"]
    assert granted["source"] == "gift-plans"
    assert granted["detail"]["recipient_sub"] == "rcpt-sub" and granted["detail"]["version"] == "1"
    assert granted["detail"]["id"] == f"PURCHASE#{PURCHASE_ID}|SEAT#0001|3|entitlement.granted"
    assert "@" not in json.dumps(got["seat.accepted"]["detail"])


def test_given_more_than_ten_events_when_published_then_sent_in_batches_of_ten():
    calls: list[int] = []

    class Bus:
        def put_events(self, **request: Any) -> dict[str, Any]:
            calls.append(len(request["Entries"]))
            return {"FailedEntryCount": 0, "Entries": [{"EventId": "e"} for _ in request["Entries"]]}

    records = [accept_record() for _ in range(6)]  # 2 events each

    assert publishing.publish(records, Bus()) == []
    assert calls == [10, 2]


def test_given_a_failed_entry_when_published_then_only_its_record_is_reported():
    records = [accept_record(), record(None, purchase())]

    class Bus:
        def put_events(self, **request: Any) -> dict[str, Any]:
            results = [{"EventId": "e"} for _ in request["Entries"]]
            results[-1] = {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}
            return {"FailedEntryCount": 1, "Entries": results}

    failed = publishing.publish(records, Bus())

    assert failed == [records[1]["dynamodb"]["SequenceNumber"]]
    assert publishing.batch_response(failed) == {"batchItemFailures": [{"itemIdentifier": failed[0]}]}


def test_given_event_bridge_down_when_published_then_every_record_of_the_chunk_is_retried():
    from botocore.exceptions import EndpointConnectionError

    class Bus:
        def put_events(self, **request: Any) -> dict[str, Any]:
            raise EndpointConnectionError(endpoint_url="https://events")

    records = [accept_record(), record(None, purchase())]

    assert publishing.publish(records, Bus()) == [r["dynamodb"]["SequenceNumber"] for r in records]


def test_given_records_without_events_when_published_then_nothing_put(bus):
    old = seat()
    bounced = change(old, delivery="bounced", last_action="bounce")
    assert run(record(old, bounced)) == {"batchItemFailures": []}
    assert drain(bus) == []
