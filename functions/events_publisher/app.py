"""DynamoDB stream -> domain events on EventBridge (giftplans.outbox.publishing), at least once.

It also writes an accepted gift's sender onto the recipient's entitlement (giftplans.givers).

`build(bus)` wires the handler to a bus: EventBridge when deployed, a fake in tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from giftplans import givers
from giftplans.observability import entry
from giftplans.outbox import publishing


def build(bus: publishing.Bus) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The events function's handler, publishing on `bus`."""

    @entry()
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        records = event.get("Records") or []
        failed = publishing.publish(records, bus) + givers.fill(records)
        return publishing.batch_response(list(dict.fromkeys(failed)))

    return handler


handler = build(publishing.EventBridge())
