"""Fault injection for the hardening tests: DynamoDB writes that throttle or time out, table snapshots."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from tests.conftest import TEST_TABLE

WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})
FAULTS = ["ProvisionedThroughputExceededException", "ThrottlingException", "ReadTimeout", "ConnectTimeout"]


def snapshot() -> list[str]:
    """Every item of the table, canonical and sorted: equal snapshots mean nothing was written."""
    client = boto3.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": TEST_TABLE, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sorted(json.dumps(item, sort_keys=True) for item in items)


def _raise(fault: str, operation: str) -> None:
    endpoint = "https://dynamodb.us-east-1.amazonaws.com"
    if fault == "ReadTimeout":
        raise ReadTimeoutError(endpoint_url=endpoint)
    if fault == "ConnectTimeout":
        raise ConnectTimeoutError(endpoint_url=endpoint)
    if fault == "EndpointConnectionError":
        raise EndpointConnectionError(endpoint_url=endpoint)
    raise ClientError(
        {
            "Error": {"Code": fault, "Message": "Rate of requests exceeds the allowed throughput."},
            "ResponseMetadata": {"HTTPStatusCode": 400},  # type: ignore[typeddict-item]
        },
        operation,
    )


CALL_FAULTS = ["AccessDeniedException", "ResourceNotFoundException", "EndpointConnectionError", "ReadTimeout"]


@contextmanager
def failing_calls(monkeypatch: pytest.MonkeyPatch, fault: str) -> Iterator[list[str]]:
    """Every DynamoDB call, read or write, raises `fault`; yields the operations refused."""
    real = BaseClient._make_api_call  # type: ignore[attr-defined]
    refused: list[str] = []

    def call(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            refused.append(operation)
            _raise(fault, operation)
        return real(self, operation, params)

    with monkeypatch.context() as patch:
        patch.setattr(BaseClient, "_make_api_call", call)
        yield refused


@contextmanager
def failing_writes(monkeypatch: pytest.MonkeyPatch, fault: str) -> Iterator[list[str]]:
    """Every DynamoDB write raises `fault` (reads still work); yields the write operations refused."""
    real = BaseClient._make_api_call  # type: ignore[attr-defined]
    refused: list[str] = []

    def call(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb" and operation in WRITES:
            refused.append(operation)
            _raise(fault, operation)
        return real(self, operation, params)

    with monkeypatch.context() as patch:
        patch.setattr(BaseClient, "_make_api_call", call)
        yield refused
