"""DynamoDB stream -> domain events on EventBridge (giftplans.outbox.publishing), at least once.

`build(bus)` wires the handler to a bus: EventBridge when deployed, a fake in tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from giftplans.observability import entry
from giftplans.outbox import publishing


def build(bus: publishing.Bus) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The events function's handler, publishing on `bus`."""

    @entry()
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return publishing.batch_response(publishing.publish(event.get("Records") or [], bus))

    return handler


handler = build(publishing.EventBridge())
