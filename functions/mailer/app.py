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

from giftplans import clock
from giftplans.observability import entry, logger, seconds_left
from giftplans.outbox import publishing, redrive, sending

SPARE_MS = 10_000  # a redrive stops this long before the function's timeout; the next run goes on


def build(sender: sending.Sender) -> Callable[[dict[str, Any], Any], Any]:
    """The mail function's handler, sending through `sender`."""

    @entry()
    def handler(event: dict[str, Any], context: Any) -> Any:
        if "redrive" in event:
            start, end = redrive.window(event.get("redrive"), clock.now())
            left = seconds_left(context)
            out_of_time = (lambda: left() * 1000 < SPARE_MS) if left is not None else (lambda: False)
            return redrive.redrive(start, end, sender, out_of_time=out_of_time).as_json()
        return publishing.batch_response(_failed_records(event.get("Records") or [], sender))

    return handler


def _failed_records(records: list[dict[str, Any]], sender: sending.Sender) -> list[str]:
    """Send each record's mail; the sequence numbers of the records that raised, for the stream to retry.

    Every record is tried even after one fails (a batch that fails as a whole is reported record
    by record too): the stream resumes from the first failure, and what was sent is skipped then
    by its marker. Written here rather than with Powertools' BatchProcessor, whose import (asyncio
    among it) cost this stream function a sixth of its INIT (issue 15 item 5).
    """
    failed: list[str] = []
    for record in records:
        try:
            sending.handle_record(record, sender)
        except Exception:
            sequence = str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
            logger.exception("mail record failed; the stream retries it", extra={"sequence_number": sequence})
            failed.append(sequence)
    return failed


handler = build(sending.SesSender())
