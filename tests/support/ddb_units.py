"""Write units from DynamoDB's item-size rules, for the items a block actually wrote (tests and `make bench`).

DynamoDB bills a write by the larger of the item's size before and after, in 1 KB units
(rounded up, at least 1); a transaction bills each of its writes twice; and every global
secondary index the item is in (before or after) costs a write of its projection (two when
the index key changed: a delete and a put). `metering()` runs inside
`ddb_calls.counting`, whose `around` hook reads each written item before and after with the
same client (those reads are not counted, only the outer call is), and adds up the units.

Sizes follow AWS's published rules: an attribute costs its name's UTF-8 bytes plus its
value's (a string its UTF-8 bytes, a number about one byte per two significant digits plus
one, a boolean or null 1, a map or list 3 plus its elements and 1 byte each, a set the sum
of its elements).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.support.ddb_calls import counting

KB = 1024
# index -> (hash key, range key, projected non-key attributes, or None for ALL / () for KEYS_ONLY)
INDEXES: dict[str, tuple[str, str, tuple[str, ...] | None]] = {}


def value_size(value: dict[str, Any]) -> int:
    ((kind, v),) = value.items()
    if kind in ("S", "B"):
        return len(v.encode("utf-8")) if isinstance(v, str) else len(v)
    if kind == "N":
        digits = len(str(v).lstrip("-").replace(".", "").strip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(n.encode()) + value_size(x) + 1 for n, x in v.items())
    if kind == "L":
        return 3 + sum(value_size(x) + 1 for x in v)
    if kind == "SS":
        return sum(len(x.encode()) for x in v)
    if kind == "NS":
        return sum(math.ceil(len(str(x)) / 2) + 1 for x in v)
    return len(str(v))


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def units(size: int) -> int:
    return max(1, math.ceil(size / KB))


def _projection(item: dict[str, Any] | None, index: str) -> dict[str, Any] | None:
    hash_key, range_key, attrs = INDEXES[index]
    if not item or hash_key not in item or range_key not in item:
        return None
    keep = {"PK", "SK", hash_key, range_key}
    if attrs is None:
        return dict(item)
    return {n: v for n, v in item.items() if n in keep or n in attrs}


def write_units(before: dict[str, Any] | None, after: dict[str, Any] | None, transactional: bool) -> int:
    """The units one write of one item costs: the table's, doubled in a transaction, plus its indexes'."""
    table = units(max(item_size(before), item_size(after))) * (2 if transactional else 1)
    indexed = 0
    for index, (hash_key, range_key, _) in INDEXES.items():
        old, new = _projection(before, index), _projection(after, index)
        if old == new:
            continue
        moved = (
            old is not None
            and new is not None
            and (old[hash_key], old[range_key]) != (new[hash_key], new[range_key])
        )
        if moved:
            indexed += units(item_size(old)) + units(item_size(new))
        else:
            indexed += units(max(item_size(old), item_size(new)))
    return table + indexed


@dataclass
class Metered:
    write_units: int = 0
    writes: list[tuple[str, int]] = field(default_factory=list)  # (operation, units) per item written
    largest_item: int = 0  # bytes, of any item written


def _learn_indexes(client: Any, original: Any, table: str) -> None:
    if INDEXES:
        return
    described = original(client, "DescribeTable", {"TableName": table})["Table"]
    for gsi in described.get("GlobalSecondaryIndexes", []):
        keys = {k["KeyType"]: k["AttributeName"] for k in gsi["KeySchema"]}
        projection = gsi["Projection"]
        kind = projection["ProjectionType"]
        attrs: tuple[str, ...] | None = (
            None
            if kind == "ALL"
            else tuple(projection.get("NonKeyAttributes", ()))
            if kind == "INCLUDE"
            else ()
        )
        INDEXES[gsi["IndexName"]] = (keys["HASH"], keys["RANGE"], attrs)


def _writes(operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    """(table, key, in a transaction) of every item a write request names."""
    if operation in ("PutItem",):
        item = params["Item"]
        return [(params["TableName"], {"PK": item["PK"], "SK": item["SK"]}, False)]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(params["TableName"], params["Key"], False)]
    if operation == "TransactWriteItems":
        out = []
        for entry in params["TransactItems"]:
            ((kind, body),) = entry.items()
            if kind == "ConditionCheck":
                continue
            key = body.get("Key") or {"PK": body["Item"]["PK"], "SK": body["Item"]["SK"]}
            out.append((body["TableName"], key, True))
        return out
    if operation == "BatchWriteItem":
        out = []
        for table, requests in params["RequestItems"].items():
            for request in requests:
                if "PutRequest" in request:
                    item = request["PutRequest"]["Item"]
                    out.append((table, {"PK": item["PK"], "SK": item["SK"]}, False))
                else:
                    out.append((table, request["DeleteRequest"]["Key"], False))
        return out
    return []


@contextmanager
def metering() -> Iterator[Metered]:
    """Add up the write units of every DynamoDB write made while the block runs.

    Built on `ddb_calls.counting`: its `around` hook reads each written item before and after
    the write with the uncounted call.
    """
    metered = Metered()

    def around(client: Any, send: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        writes = _writes(operation_name, api_params)
        if not writes:
            return send(client, operation_name, api_params)

        def get(table: str, key: dict[str, Any]) -> dict[str, Any] | None:
            answer = send(client, "GetItem", {"TableName": table, "Key": key, "ConsistentRead": True})
            item: dict[str, Any] | None = answer.get("Item")
            return item

        _learn_indexes(client, send, writes[0][0])
        befores = [get(table, key) for table, key, _ in writes]
        response = send(client, operation_name, api_params)
        for (table, key, transactional), before in zip(writes, befores, strict=True):
            after = get(table, key)
            cost = write_units(before, after, transactional)
            metered.write_units += cost
            metered.writes.append((operation_name, cost))
            metered.largest_item = max(metered.largest_item, item_size(after))
        return response

    with counting(around=around):
        yield metered
