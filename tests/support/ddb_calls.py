"""Count every DynamoDB request the process makes, whichever client makes it (for tests and `make bench`).

PynamoDB builds its own botocore session and clients; boto3 has its default session;
moto intercepts below both. The one place every request passes through is
`botocore.client.BaseClient._make_api_call`, so `counting()` wraps that for as long as
it is active (any client, any session, created before or during the block, any thread)
and records, for DynamoDB requests only, the operation name and how many items the
response carried.

    with counting() as calls:
        invitations.accept(...)
    assert calls.names == ["TransactWriteItems"]
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.client

_lock = threading.Lock()


def items_in(operation: str, response: dict[str, Any]) -> int:
    """Items a read response carried: Query/Scan `Count`, 1 for a found GetItem, every batch/transact item."""
    if operation in ("Query", "Scan"):
        return int(response.get("Count", 0))
    if operation == "GetItem":
        return 1 if response.get("Item") else 0
    if operation == "BatchGetItem":
        return sum(len(items) for items in (response.get("Responses") or {}).values())
    if operation == "TransactGetItems":
        return sum(1 for r in response.get("Responses") or [] if r.get("Item"))
    return 0


@dataclass
class Calls:
    names: list[str] = field(default_factory=list)  # operation names in order
    items_read: int = 0  # items the read responses carried

    def __len__(self) -> int:
        return len(self.names)

    @property
    def by_operation(self) -> Counter[str]:
        return Counter(self.names)

    def clear(self) -> None:
        self.names.clear()
        self.items_read = 0


# around(client, send, operation, params) -> response: makes the request with `send` (the call as
# it was before this block, so what `around` sends itself is not counted here)
Around = Callable[[Any, Callable[[Any, str, dict[str, Any]], Any], str, dict[str, Any]], Any]


@contextmanager
def counting(around: Around | None = None) -> Iterator[Calls]:
    """Record every DynamoDB request made while the block runs (nested blocks each see all calls).

    `around`, if given, makes each DynamoDB request in its place (`ddb_units.metering` reads the
    items a write touches before and after it).
    """
    calls = Calls()
    with _lock:
        original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

        def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            if self.meta.service_model.service_name != "dynamodb":
                return original(self, operation_name, api_params)
            calls.names.append(operation_name)  # counted before sending: a refused request is a round trip
            if around is not None:
                response = around(self, original, operation_name, api_params)
            else:
                response = original(self, operation_name, api_params)
            if isinstance(response, dict):
                calls.items_read += items_in(operation_name, response)
            return response

        botocore.client.BaseClient._make_api_call = _make_api_call  # type: ignore[attr-defined]
    try:
        yield calls
    finally:
        with _lock:
            botocore.client.BaseClient._make_api_call = original  # type: ignore[attr-defined]
