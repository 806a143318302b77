"""DynamoDB stream -> email, each notice sent once per idempotency key (giftplans.outbox.sending).

A notice SES cannot take now (throttling, quota, a pause, an outage) is parked on its mail
marker and the stream moves on; a record that failed otherwise (a bug, a send in flight)
is reported as a batch item failure and retried, and records already sent are skipped by
their markers. `{"redrive": {"from"?, "to"?}}` (the 15-minute schedule, or support) sends
the parked notices of a window instead (giftplans.outbox.redrive). `build(sender)` wires
the handler to a sender: SES when deployed, a fake in tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from giftplans import clock
from giftplans.observability import entry, seconds_left
from giftplans.outbox import redrive, sending

SPARE_MS = 10_000  # a redrive stops this long before the function's timeout; the next run goes on


def build(sender: sending.Sender) -> Callable[[dict[str, Any], Any], Any]:
    """The mail function's handler, sending through `sender`."""
    # A batch that fails as a whole is reported record by record too: the stream retries from the first.
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)

    def record_handler(record: DynamoDBRecord) -> None:
        sending.handle_record(record.raw_event, sender)

    @entry()
    def handler(event: dict[str, Any], context: Any) -> Any:
        if "redrive" in event:
            start, end = redrive.window(event.get("redrive"), clock.now())
            left = seconds_left(context)
            out_of_time = (lambda: left() * 1000 < SPARE_MS) if left is not None else (lambda: False)
            return redrive.redrive(start, end, sender, out_of_time=out_of_time).as_json()
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return handler


handler = build(sending.SesSender())
