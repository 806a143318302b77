"""Conditional transactions and what to say when one is refused.

`transact(build)` runs one TransactWriteItems built by `build(tx)`. When DynamoDB
cancels it, the caller gets `Cancelled` with, for each action in order, the reason code
and the item as it stood (ALL_OLD on a failed condition), so the domain can tell "not
yours" from "already accepted" from "you already have a plan" without another read.
Throttling and timeouts become `UpstreamUnavailable` (503): nothing was written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from giftplans.errors import UpstreamUnavailable
from giftplans.store.models import Item

RETRYABLE = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)
UNAVAILABLE = "The service is busy right now; nothing was changed. Please try again in a moment."


@dataclass(frozen=True)
class Reason:
    code: str  # None, ConditionalCheckFailed, TransactionConflict, ...
    old: Item | None  # the item as it stood, when a condition failed and ALL_OLD was asked


class Cancelled(Exception):
    def __init__(self, reasons: list[Reason]) -> None:
        super().__init__(", ".join(r.code for r in reasons))
        self.reasons = reasons

    def failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index].code == "ConditionalCheckFailed"

    def old(self, index: int) -> Item | None:
        return self.reasons[index].old if index < len(self.reasons) else None

    @property
    def conflict(self) -> bool:
        return any(r.code == "TransactionConflict" for r in self.reasons)


_connection: Connection | None = None


def connection() -> Connection:
    """The models' own connection: one botocore session and client per process, not two (~50 ms cold)."""
    global _connection
    if _connection is None:
        _connection = Item._get_connection().connection
    return _connection


def _reasons(error: TransactWriteError) -> list[Reason]:
    out = []
    for reason in error.cancellation_reasons:
        if reason is None:
            out.append(Reason("None", None))
            continue
        old = Item.from_raw_data(reason.raw_item) if reason.raw_item else None
        out.append(Reason(reason.code or "None", old))
    return out


def transact(build: Callable[[TransactWrite], None], *, token: str | None = None) -> None:
    """Run one transaction; raise `Cancelled` (with reasons) or `UpstreamUnavailable`."""
    try:
        with TransactWrite(connection=connection(), client_request_token=token) as tx:
            build(tx)
    except TransactWriteError as error:
        reasons = _reasons(error)
        if any(
            r.code not in ("None", "ConditionalCheckFailed", "TransactionConflict") for r in reasons
        ) and not any(r.code == "ConditionalCheckFailed" for r in reasons):
            raise UpstreamUnavailable(UNAVAILABLE) from error
        if not reasons and (error_code(error) in RETRYABLE or _is_timeout(error)):
            raise UpstreamUnavailable(UNAVAILABLE) from error
        if not reasons:
            raise
        raise Cancelled(reasons) from error


@contextmanager
def dynamodb_errors() -> Iterator[None]:
    """Map throttling and timeouts on single reads/writes to a clean 503."""
    try:
        yield
    except PynamoDBException as error:
        code = error_code(error)
        if code in RETRYABLE or (code is None and _is_timeout(error)):
            raise UpstreamUnavailable(UNAVAILABLE) from error
        raise


def error_code(error: PynamoDBException) -> str | None:
    """DynamoDB's error code behind a PynamoDB error; None for a timeout or a connection failure.

    (PynamoDB's own `cause_response_code` raises AttributeError when the cause is a botocore
    timeout, whose `response` is None.)
    """
    response = getattr(error.cause, "response", None)
    code = ((response or {}).get("Error") or {}).get("Code") if isinstance(response, dict) else None
    return str(code) if code else None


def _is_timeout(error: Exception) -> bool:
    cause: Any = error.__cause__ or getattr(error, "cause", None)
    return cause is not None and "timeout" in type(cause).__name__.lower()
