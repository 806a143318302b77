"""DynamoDB stream -> email. Each record's notices are sent once per idempotency key (giftplans.mailer).

A record that could not be sent now (SES throttling, an outage) is reported as a batch
item failure; the stream retries from it, and records already sent are skipped by their
markers.
"""

from __future__ import annotations

import logging
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from giftplans import mailer

logger = Logger(service="gift-plans")
logging.getLogger("giftplans")
copy_config_to_registered_loggers(source_logger=logger, include={"giftplans"})
# A batch that fails as a whole is reported record by record too: the stream retries from the first.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def record_handler(record: DynamoDBRecord) -> None:
    mailer.handle_record(record.raw_event)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
