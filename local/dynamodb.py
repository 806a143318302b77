"""DynamoDB in the emulation behaves as DynamoDB under concurrency: one request at a time, all or nothing.

moto 5 alone does neither. Its server answers requests on many threads against shared
tables, so a Scan that iterates a table while another thread writes fails with
`RuntimeError: dictionary changed size during iteration`, and an UpdateItem changes its
item in place while another request serialises it. And it rolls a refused transaction
back by putting a deep copy of the *whole table*, taken before the transaction, in the
live table's place: every write another thread confirmed meanwhile is lost, the copy's
stream shard is not the one readers hold, and each transaction costs a copy of the table
(memory and time grow with the table).

`apply()` patches moto's DynamoDB, in this process, so that:

- **every request is atomic and isolated**: one lock is held around each DynamoDB and
  DynamoDB Streams request, from parsing to the serialised answer, so requests are
  linearisable (DynamoDB may serialise conflicting requests too; it never interleaves
  them);
- **a request that fails changes nothing**: while a request runs, a journal keeps each
  item it is about to touch as it was (an undo log of the touched items, never a table
  snapshot) and the length of each stream shard. A request answered with an error (a
  cancelled transaction, a failed condition, a validation error, a partial BatchWriteItem)
  puts exactly those items back and cuts the stream records it added. Nothing else
  changes: another request's confirmed write or stream record is never touched;
- **moto takes no table copies**: its transaction "backup" is handed the live table
  itself, so its own rollback (assigning the backup back) does nothing and the journal
  undoes the transaction instead;
- **an emulator failure is an AWS failure**: an unexpected exception inside moto (a bug,
  not a refusal) is logged and answered as DynamoDB answers its own failures, HTTP 500
  `InternalServerError`, after the journal has undone the request; botocore retries it
  and, if it persists, the caller sees an AWS error (which the service answers with 503).
- **a retried transaction is applied once**: a `TransactWriteItems` that repeats a
  `ClientRequestToken` already applied (within DynamoDB's 10 minutes) succeeds without
  writing again; the same token with other items is refused with
  `IdempotentParameterMismatchException`, as DynamoDB does.

- **an UpdateExpression is parsed and checked once, not once per item**
  (local/moto_expressions.py): moto's parse, and the checks that read only the expression,
  its names and the table's keys, are memoised; everything that reads the item or the
  values runs for every item, so every answer is moto's.

Applied by the local server (before moto's server starts) and by the tests' in-process
moto (tests/conftest.py, bench); idempotent.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from local import moto_expressions

log = logging.getLogger("local.dynamodb")

LOCK = threading.RLock()  # one DynamoDB request at a time, in the whole process
TOKEN_TTL_S = 600  # DynamoDB honours a ClientRequestToken for 10 minutes
ITERATOR_TTL_S = 900  # a shard iterator expires after 15 minutes
STREAM_TAIL = 1000  # records a shard keeps after every open reader has read them

_state = threading.local()
_failures = 0  # emulator failures answered as InternalServerError, for the logs and tests


def emulator_failures() -> int:
    """How many requests the emulation failed (answered 500 InternalServerError) since the start."""
    return _failures


# ---- the journal -----------------------------------------------------------------------------------


class Journal:
    """The items one request is about to change, as they were, and the stream shards' lengths."""

    def __init__(self, tables: dict[str, Any]) -> None:
        self._before: dict[tuple[int, Any, Any], tuple[Any, Any]] = {}
        self._streams = [
            (table.stream_shard, len(table.stream_shard.items))
            for table in tables.values()
            if getattr(table, "stream_shard", None) is not None
        ]

    def remember(self, table: Any, hash_key: Any, range_key: Any) -> None:
        """Keep the item at (hash_key, range_key) as it is now, unless this request already did."""
        key = (id(table), hash_key, range_key)
        if key in self._before:
            return
        current = table.get_item(hash_key, range_key)
        self._before[key] = (table, copy.deepcopy(current))

    def undo(self) -> None:
        """Put every remembered item back as it was; cut the stream records this request added."""
        for (_, hash_key, range_key), (table, item) in reversed(list(self._before.items())):
            if range_key is not None:
                if item is None:
                    table.items[hash_key].pop(range_key, None)
                    if not table.items[hash_key]:
                        del table.items[hash_key]
                else:
                    table.items[hash_key][range_key] = item
            elif item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
        for shard, length in self._streams:
            del shard.items[length:]
        self._before.clear()


def _journal() -> Journal | None:
    return getattr(_state, "journal", None)


# ---- the patches -----------------------------------------------------------------------------------


def _remember_table_write(original: Callable[..., Any], *, delete: bool) -> Callable[..., Any]:
    """Table.put_item / Table.delete_item: remember the item before it changes."""

    @functools.wraps(original)
    def write(table: Any, *args: Any, **kwargs: Any) -> Any:
        journal = _journal()
        if journal is not None:
            if delete:
                hash_key, range_key = args[0], args[1] if len(args) > 1 else kwargs.get("range_key")
            else:
                hash_key, range_key = _put_key(table, args[0] if args else kwargs["item_attrs"])
            if hash_key is not None:
                journal.remember(table, hash_key, range_key)
        return original(table, *args, **kwargs)

    return write


def _put_key(table: Any, attrs: dict[str, Any]) -> tuple[Any, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        hash_key = DynamoType(attrs[table.hash_key_attr])
        range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
    except (KeyError, TypeError):
        return None, None  # moto refuses the put itself
    return hash_key, range_key


def _remember_update(original: Callable[..., Any]) -> Callable[..., Any]:
    """DynamoDBBackend.update_item changes the stored item in place: remember it first."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    @functools.wraps(original)
    def update_item(backend: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        table = backend.tables.get(table_name)
        if table is None:
            return original(backend, table_name, key, *args, **kwargs)
        try:
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
        except (KeyError, TypeError):
            return original(backend, table_name, key, *args, **kwargs)  # moto refuses the key itself
        if table.range_key_attr is not None and range_key is None:
            return original(backend, table_name, key, *args, **kwargs)
        journal = _journal()
        if journal is not None:
            journal.remember(table, hash_key, range_key)
        shard = getattr(table, "stream_shard", None)
        created = table.get_item(hash_key, range_key) is None
        length = len(shard.items) if shard is not None else 0
        result = original(backend, table_name, key, *args, **kwargs)
        if created and shard is not None and len(shard.items) > length + 1:
            # moto writes an item an update creates twice (an empty INSERT, then a MODIFY);
            # DynamoDB's stream has one INSERT with the new image.
            del shard.items[length:]
            shard.add(None, table.get_item(hash_key, range_key))
        return result

    return update_item


class _NoTableCopies:
    """Stands in for the `copy` module inside moto's DynamoDB backend: a Table is never copied.

    moto's `transact_write_items` deep-copies each table it touches as a rollback backup
    and, when the transaction is refused, assigns the backup back over the live table.
    Handed the live table itself, that assignment changes nothing; the journal undoes the
    transaction's items instead. Every other object is copied as before.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(obj: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.table import Table

        if isinstance(obj, Table):
            return obj
        return copy.deepcopy(obj, memo)


def _internal_error(message: str) -> tuple[int, dict[str, str], str]:
    body = {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": message}
    return 500, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(body)


def _atomic_request(original: Callable[..., Any], *, journaled: bool) -> Callable[..., Any]:
    """A DynamoDB (Streams) request under the one lock; with `journaled`, undone when it fails."""

    @functools.wraps(original)
    def call_action(handler: Any) -> Any:
        global _failures
        with LOCK:
            journal = Journal(_backend_tables(handler)) if journaled else None
            _state.journal = journal
            try:
                status, headers, body = original(handler)
            except Exception:
                if journal is not None:
                    journal.undo()
                _failures += 1
                log.exception("the DynamoDB emulation failed; answering InternalServerError")
                return _internal_error("The local DynamoDB emulation failed on this request.")
            finally:
                _state.journal = None
            if journal is not None and int(status) >= 400:
                journal.undo()
            return status, headers, body

    call_action._local_atomic = True  # type: ignore[attr-defined]
    return call_action


def _backend_tables(handler: Any) -> dict[str, Any]:
    try:
        return dict(handler.dynamodb_backend.tables)
    except Exception:  # an unknown account or region: moto answers it itself
        return {}


class _Tokens:
    """ClientRequestToken -> (digest of the transaction's items, when it was applied)."""

    def __init__(self) -> None:
        self.applied: dict[str, tuple[str, float]] = {}

    def seen(self, token: str, digest: str) -> bool | None:
        """True: applied before with these items; False: with other items; None: new."""
        now = time.monotonic()
        for old in [t for t, (_, at) in self.applied.items() if now - at > TOKEN_TTL_S]:
            del self.applied[old]
        if token not in self.applied:
            return None
        return self.applied[token][0] == digest


_tokens = _Tokens()


def _idempotent_transactions(original: Callable[..., Any]) -> Callable[..., Any]:
    """DynamoHandler.transact_write_items: a repeated ClientRequestToken is applied once."""

    @functools.wraps(original)
    def transact_write_items(handler: Any) -> Any:
        body = getattr(handler, "body", None) or {}
        token = body.get("ClientRequestToken")
        if not token:
            return original(handler)
        digest = hashlib.sha256(json.dumps(body.get("TransactItems"), sort_keys=True).encode()).hexdigest()
        seen = _tokens.seen(str(token), digest)
        if seen is True:
            from moto.core.responses import ActionResult

            return ActionResult({})
        if seen is False:
            from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException

            raise DynamodbException(
                ERROR_TYPE_PREFIX + "IdempotentParameterMismatchException",
                message="The request token was already used with other parameters in the last 10 minutes.",
            )
        answer = original(handler)
        _tokens.applied[str(token)] = (digest, time.monotonic())
        return answer

    return transact_write_items


def _stream_reads(original: Callable[..., Any]) -> Callable[..., Any]:
    """DynamoDBStreamsBackend.get_records with DynamoDB's limits, so that reading costs no memory.

    moto keeps every shard iterator it ever made (one per GetRecords, five a second for a
    poller) and every stream record forever. DynamoDB expires an iterator after 15 minutes
    (ExpiredIteratorException) and trims records (TrimmedDataAccessException for an
    iterator before the trim horizon). Here iterators expire after 15 minutes, and a shard
    forgets the records every open reader has read, keeping the newest STREAM_TAIL: a
    poller that keeps up (the local stream driver) loses nothing; a reader that falls
    behind a trimmed record is told so, as by DynamoDB.
    """
    from moto.core.exceptions import JsonRESTError

    @functools.wraps(original)
    def get_records(backend: Any, iterator_arn: str, limit: int) -> Any:
        now = time.monotonic()
        iterators: dict[str, Any] = backend.shard_iterators
        for arn, iterator in list(iterators.items()):
            created = iterator.__dict__.setdefault("_local_created", now)
            if now - created > ITERATOR_TTL_S:
                del iterators[arn]
        iterator = iterators.get(iterator_arn)
        if iterator is None:
            raise JsonRESTError(
                "ExpiredIteratorException", "Iterator expired. The iterator was created over 15 minutes ago."
            )
        shard = iterator.stream_shard
        if iterator.sequence_number < shard.starting_sequence_number:
            raise JsonRESTError(
                "TrimmedDataAccessException",
                "The operation attempted to read past the oldest stream record in a shard.",
            )
        answer = original(backend, iterator_arn, limit)
        iterator._local_read = True  # its reader has moved on to the next iterator
        open_readers = [
            i.sequence_number
            for i in iterators.values()
            if i.stream_shard is shard and not getattr(i, "_local_read", False)
        ]
        if open_readers:
            forget = min(min(open_readers) - shard.starting_sequence_number, len(shard.items) - STREAM_TAIL)
            if forget > 0:
                del shard.items[:forget]
                shard.starting_sequence_number += forget  # sequence numbers stay as they were
        return answer

    return get_records


def apply() -> None:
    """Patch moto's DynamoDB in this process (see the module docstring). Idempotent."""
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    if getattr(DynamoHandler.call_action, "_local_atomic", False):
        return
    moto_expressions.apply()
    Table.put_item = _remember_table_write(Table.put_item, delete=False)  # type: ignore[method-assign]
    Table.delete_item = _remember_table_write(Table.delete_item, delete=True)  # type: ignore[method-assign]
    backend = models.DynamoDBBackend
    backend.update_item = _remember_update(backend.update_item)  # type: ignore[method-assign]
    models.copy = _NoTableCopies()  # type: ignore[attr-defined,assignment]
    DynamoHandler.transact_write_items = _idempotent_transactions(  # type: ignore[method-assign]
        DynamoHandler.transact_write_items
    )
    DynamoHandler.call_action = _atomic_request(DynamoHandler.call_action, journaled=True)  # type: ignore[method-assign]
    DynamoDBStreamsHandler.call_action = _atomic_request(  # type: ignore[method-assign]
        DynamoDBStreamsHandler.call_action, journaled=False
    )
    streams = DynamoDBStreamsBackend
    streams.get_records = _stream_reads(streams.get_records)  # type: ignore[method-assign]
