"""DynamoDB stream -> domain events on EventBridge (giftplans.events), at least once."""

from __future__ import annotations

import logging
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from giftplans import events

logger = Logger(service="gift-plans")
logging.getLogger("giftplans")
copy_config_to_registered_loggers(source_logger=logger, include={"giftplans"})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return events.batch_response(events.publish(event.get("Records") or []))
