"""DynamoDB stream -> email, each notice sent once per idempotency key (giftplans.outbox.sending).

A record that could not be sent now (SES throttling, an outage) is reported as a batch
item failure; the stream retries from it, and records already sent are skipped by their
markers. `build(sender)` wires the handler to a sender: SES when deployed, a fake in tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from giftplans.observability import entry
from giftplans.outbox import sending


def build(sender: sending.Sender) -> Callable[[dict[str, Any], Any], PartialItemFailureResponse]:
    """The mail function's handler, sending through `sender`."""
    # A batch that fails as a whole is reported record by record too: the stream retries from the first.
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)

    def record_handler(record: DynamoDBRecord) -> None:
        sending.handle_record(record.raw_event, sender)

    @entry()
    def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return handler


handler = build(sending.SesSender())
