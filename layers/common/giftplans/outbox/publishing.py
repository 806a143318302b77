"""Publish the domain events committed changes call for, to EventBridge.

Same stream as the mailer, same `notices_for`; here only the notices with an event count.
Entries go out in `PutEvents` calls of at most 10. Delivery is at least once: a record
whose entry failed is reported as a batch item failure, the stream retries from it, and
entries that had already gone out go out again. Each detail carries `id`, the notice's
idempotency key, for consumers to drop repeats (docs/events.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from giftplans import settings
from giftplans.observability import logger
from giftplans.outbox.notices import notices_for

SOURCE = "gift-plans"
MAX_ENTRIES = 10  # per PutEvents call


class Bus(Protocol):
    def put_events(self, **request: Any) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Pending:
    record_id: str  # the stream record's sequence number
    entry: dict[str, Any]


class EventBridge:
    """The deployed `Bus`: EventBridge's PutEvents, its client made on first use (not at cold start)."""

    def __init__(self) -> None:
        self._client: Any = None

    def put_events(self, **request: Any) -> dict[str, Any]:
        if self._client is None:
            import boto3

            self._client = boto3.client("events")
        return dict(self._client.put_events(**request))


def entries(records: Iterable[dict[str, Any]]) -> list[Pending]:
    bus_name = settings.get().event_bus_name
    out = []
    for record in records:
        record_id = str((record.get("dynamodb") or {}).get("SequenceNumber") or record.get("eventID") or "")
        for notice in notices_for(record):
            if notice.event is None:
                continue
            out.append(
                Pending(
                    record_id,
                    {
                        "Source": SOURCE,
                        "DetailType": notice.event.detail_type,
                        "Detail": json.dumps(notice.event.detail, sort_keys=True, separators=(",", ":")),
                        "EventBusName": bus_name,
                    },
                )
            )
    return out


def publish(records: list[dict[str, Any]], via: Bus) -> list[str]:
    """Put every event the records call for on `via`; return the sequence numbers of records to retry."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = via
    failed: list[str] = []
    pending = entries(records)
    for start in range(0, len(pending), MAX_ENTRIES):
        chunk = pending[start : start + MAX_ENTRIES]
        try:
            answer = client.put_events(Entries=[p.entry for p in chunk])
        except (ClientError, BotoCoreError) as error:  # throttled, down, timed out: retry the chunk's records
            logger.warning("PutEvents failed", extra={"error": type(error).__name__, "entries": len(chunk)})
            failed.extend(p.record_id for p in chunk)
            continue
        for sent, result in zip(chunk, answer.get("Entries", []), strict=False):
            if result.get("ErrorCode"):
                logger.warning(
                    "event not accepted",
                    extra={"detail_type": sent.entry["DetailType"], "code": result.get("ErrorCode")},
                )
                failed.append(sent.record_id)
        if len(answer.get("Entries", [])) < len(chunk):
            failed.extend(p.record_id for p in chunk[len(answer.get("Entries", [])) :])
    logger.info("events published", extra={"entries": len(pending), "failed_records": len(set(failed))})
    return list(dict.fromkeys(failed))


def batch_response(failed: list[str]) -> dict[str, Any]:
    """Lambda's partial batch response for a stream: it resumes from the lowest failed record."""
    return {"batchItemFailures": [{"itemIdentifier": record_id} for record_id in failed]}
