"""The DynamoDB stream -> Lambda event source mapping, as a poller.

Reads the table's stream from the emulated AWS (describe_stream, get_shard_iterator,
get_records) and hands records to each consumer the way Lambda's event source mapping
does: its FilterCriteria drop what does not match before batching, batches of its
BatchSize, the `{"Records": [...]}` event with `eventSourceARN`, and
ReportBatchItemFailures: a reported failure (or an exception) re-delivers from the
first failed record, up to the consumer's retry limit, after which the rest of that
batch is dropped with a log line (deployed, it would go to the on-failure destination).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger("local.streams")

LOCAL_RETRY_CAP = 3  # Lambda's default (-1) retries until the record expires; locally we stop sooner


# ---- filter patterns (the subset of EventBridge pattern syntax Lambda filters use) ------------------


def _value_matches(rule: Any, value: Any, present: bool) -> bool:
    if isinstance(rule, dict):
        if "exists" in rule:
            return bool(rule["exists"]) == present
        if not present:
            return False
        if "prefix" in rule:
            return isinstance(value, str) and value.startswith(str(rule["prefix"]))
        if "suffix" in rule:
            return isinstance(value, str) and value.endswith(str(rule["suffix"]))
        if "anything-but" in rule:
            banned = rule["anything-but"]
            banned = banned if isinstance(banned, list) else [banned]
            return value not in banned
        if "equals-ignore-case" in rule:
            return isinstance(value, str) and value.lower() == str(rule["equals-ignore-case"]).lower()
        return False
    return present and value == rule


def matches(pattern: dict[str, Any], event: Any) -> bool:
    """True when `event` matches `pattern` (dicts nest; a list lists the values allowed)."""
    if not isinstance(event, dict):
        return False
    for key, rule in pattern.items():
        present = key in event
        value = event.get(key)
        if isinstance(rule, dict):
            if not present or not matches(rule, value):
                return False
            continue
        rules = rule if isinstance(rule, list) else [rule]
        candidates = value if isinstance(value, list) else [value]
        if not any(_value_matches(r, v, present) for r in rules for v in candidates):
            return False
    return True


def parse_filters(criteria: Any) -> list[dict[str, Any]]:
    """FilterCriteria as the template writes it (`{"Filters": [{"Pattern": "<json>"}]}`) -> patterns."""
    if not criteria:
        return []
    filters = criteria.get("Filters", criteria) if isinstance(criteria, dict) else criteria
    patterns = []
    for entry in filters or []:
        pattern = entry.get("Pattern", entry) if isinstance(entry, dict) else entry
        patterns.append(json.loads(pattern) if isinstance(pattern, str) else pattern)
    return patterns


# ---- records -------------------------------------------------------------------------------------------


def _lambda_json(value: Any) -> Any:
    """boto3's shapes back to the JSON Lambda delivers: bytes as base64, datetimes as epoch seconds."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, dict):
        return {k: _lambda_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_lambda_json(v) for v in value]
    return value


def lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    out = _lambda_json(record)
    out.setdefault("eventVersion", "1.1")
    out.setdefault("eventSource", "aws:dynamodb")
    out["awsRegion"] = out.get("awsRegion") or region
    out["eventSourceARN"] = stream_arn
    return dict(out)


@dataclass
class Consumer:
    """One event source mapping: which function, which records, how many at once, how many tries."""

    job: str
    invoke: Callable[[dict[str, Any]], Any]
    batch_size: int = 100
    patterns: list[dict[str, Any]] = field(default_factory=list)
    max_attempts: int = LOCAL_RETRY_CAP + 1
    report_failures: bool = True
    position: int = 0  # index into the reader's record log
    attempts: int = 0

    def wants(self, record: dict[str, Any]) -> bool:
        return not self.patterns or any(matches(p, record) for p in self.patterns)


class StreamDriver:
    """Polls the table's stream and delivers to the consumers; `drain()` does one full pass now."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        consumers: list[Consumer],
        *,
        region: str = "us-east-1",
        interval_s: float = 0.2,
    ) -> None:
        self._client = client
        self._table = table_name
        self.consumers = consumers
        self._region = region
        self._interval = interval_s
        self._log: list[dict[str, Any]] = []
        self._base = 0  # absolute index of self._log[0]
        self._iterators: dict[str, str | None] = {}
        self._stream_arn: str | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped: list[dict[str, Any]] = []

    # ---- reading --------------------------------------------------------------------------------

    def _arn(self) -> str | None:
        if self._stream_arn is None:
            table = self._client["dynamodb"].describe_table(TableName=self._table)["Table"]
            self._stream_arn = table.get("LatestStreamArn")
        return self._stream_arn

    def _fetch(self) -> None:
        arn = self._arn()
        if not arn:
            return
        streams = self._client["dynamodbstreams"]
        shards = streams.describe_stream(StreamArn=arn)["StreamDescription"].get("Shards", [])
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = streams.get_shard_iterator(
                    StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            while self._iterators[shard_id]:
                page = streams.get_records(ShardIterator=self._iterators[shard_id], Limit=1000)
                self._iterators[shard_id] = page.get("NextShardIterator")
                records = page.get("Records", [])
                self._log.extend(lambda_record(r, arn, self._region) for r in records)
                if not records:
                    break

    # ---- delivering -----------------------------------------------------------------------------

    def _deliver(self, consumer: Consumer) -> bool:
        """Deliver one batch to `consumer`; False when it has nothing left."""
        end = self._base + len(self._log)
        while consumer.position < end and not consumer.wants(self._log[consumer.position - self._base]):
            consumer.position += 1
        if consumer.position >= end:
            return False
        batch: list[dict[str, Any]] = []
        index = consumer.position
        last = index
        while index < end and len(batch) < consumer.batch_size:
            record = self._log[index - self._base]
            if consumer.wants(record):
                batch.append(record)
                last = index
            index += 1
        failed_at = self._invoke(consumer, batch)
        if failed_at is None:
            consumer.position, consumer.attempts = last + 1, 0
            return True
        consumer.attempts += 1
        first_failed = consumer.position
        for i in range(consumer.position, last + 1):
            if self._log[i - self._base].get("dynamodb", {}).get("SequenceNumber") == failed_at:
                first_failed = i
                break
        consumer.position = first_failed
        if consumer.attempts >= consumer.max_attempts:
            dropped = [
                r for r in self._log[first_failed - self._base : last + 1 - self._base] if consumer.wants(r)
            ]
            self.dropped.extend(dropped)
            log.error(
                "%s: giving up on %d stream record(s) from sequence %s after %d attempts",
                consumer.job,
                len(dropped),
                failed_at or "?",
                consumer.attempts,
            )
            consumer.position, consumer.attempts = last + 1, 0
        return True

    def _invoke(self, consumer: Consumer, batch: list[dict[str, Any]]) -> str | None:
        """None on success, else the sequence number to retry from ("" = the whole batch)."""
        try:
            result = consumer.invoke({"Records": batch})
        except Exception:
            log.exception("%s raised on a batch of %d stream record(s)", consumer.job, len(batch))
            return str(batch[0]["dynamodb"].get("SequenceNumber", ""))
        if not consumer.report_failures or not isinstance(result, dict):
            return None
        failures = result.get("batchItemFailures") or []
        if not failures:
            return None
        failed = {str(f.get("itemIdentifier")) for f in failures}
        for record in batch:
            seq = record["dynamodb"].get("SequenceNumber")
            if seq in failed:
                return str(seq)
        # Lambda treats an identifier it does not know as the whole batch failing.
        return str(batch[0]["dynamodb"].get("SequenceNumber", ""))

    def _trim(self) -> None:
        if not self.consumers:
            self._base += len(self._log)
            self._log.clear()
            return
        low = min(c.position for c in self.consumers)
        if low > self._base:
            del self._log[: low - self._base]
            self._base = low

    def drain(self, max_rounds: int = 50) -> int:
        """Read and deliver until every consumer has caught up (a handler's own writes go round too)."""
        delivered = 0
        with self._lock:
            for _ in range(max_rounds):
                self._fetch()
                progressed = False
                for consumer in self.consumers:
                    while self._deliver(consumer):
                        progressed = True
                        delivered += 1
                self._trim()
                if not progressed:
                    break
        return delivered

    # ---- background -----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="stream-driver", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.drain()
            except Exception:
                log.exception("stream poll failed; trying again")

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
