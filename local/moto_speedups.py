"""Make moto's DynamoDB transactions cost one table copy each, not one per action.

moto 5's `transact_write_items` backs the table up for rollback with a `deepcopy` of the
whole table *for every action* in the transaction: a 100-action transaction on a table
holding a 1000-seat purchase deep-copies ~100,000 items, and a 1000-seat fulfilment
(11 transactions) took minutes. All those copies are taken before the first write, so
they are identical: this patch takes one copy per table per transaction and hands the
same copy back for the other actions. Rollback behaves exactly as before.

It also keeps a cancelled transaction out of the table's stream, as DynamoDB does. moto
rolls back by putting the copy in the live table's place, and the copy carries a copy of
the stream shard: every shard iterator already handed out (the local server's stream
driver holds one) points at the old shard and never sees another record, so after the
first refused transaction no mail left `make dev`. The patch gives the restored table the
live shard back, cut to its length before the transaction (moto applies the other actions
of a refused transaction before rolling back, and they must not reach the stream).

Applied by the tests (tests/conftest.py) and by the local server; idempotent.
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import Any

_state = threading.local()


class _OneCopyPerTransaction:
    """Stands in for the `copy` module inside moto's DynamoDB models."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(obj: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.table import Table

        cache: dict[int, Any] | None = getattr(_state, "cache", None)
        if cache is None or not isinstance(obj, Table):
            return copy.deepcopy(obj, memo)
        if id(obj) not in cache:
            cache[id(obj)] = copy.deepcopy(obj, memo)
        return cache[id(obj)]


def apply() -> None:
    from moto.dynamodb import models

    backend = models.DynamoDBBackend
    if getattr(backend.transact_write_items, "_one_copy", False):
        return
    original = backend.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self: Any, *args: Any, **kwargs: Any) -> Any:
        _state.cache = {}
        streams = {
            name: (table, table.stream_shard, len(table.stream_shard.items))
            for name, table in self.tables.items()
            if getattr(table, "stream_shard", None) is not None
        }
        try:
            return original(self, *args, **kwargs)
        except Exception:
            _keep_live_streams(self, streams)
            raise
        finally:
            _state.cache = None

    transact_write_items._one_copy = True  # type: ignore[attr-defined]
    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    models.copy = _OneCopyPerTransaction()  # type: ignore[assignment]


def _keep_live_streams(backend: Any, streams: dict[str, tuple[Any, Any, int]]) -> None:
    """After a rollback: the restored tables write to the shards readers hold, as they stood before."""
    for name, (live, shard, length) in streams.items():
        restored = backend.tables.get(name)
        if restored is None or restored is live:
            continue
        del shard.items[length:]
        shard.table = restored
        restored.stream_shard = shard
