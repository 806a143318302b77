"""DynamoDB stream -> domain events on EventBridge (giftplans.outbox.publishing), at least once.

`build(bus)` wires the handler to a bus: EventBridge when deployed, a fake in tests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from giftplans.outbox import publishing

logger = Logger(service="gift-plans")
logging.getLogger("giftplans")
copy_config_to_registered_loggers(source_logger=logger, include={"giftplans"})


def build(bus: publishing.Bus) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The events function's handler, publishing on `bus`."""

    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return publishing.batch_response(publishing.publish(event.get("Records") or [], bus))

    return handler


handler = build(publishing.EventBridge())
