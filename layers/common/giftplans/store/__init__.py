"""Persistence: how the domain's items are spelt and kept on the one DynamoDB table.

- `keys`: every key and index key;
- `models`: the PynamoDB models of every item;
- `writes`: the one write idiom (named steps, `Refused`, the stamp, retry on conflict);
- `transitions`: seat transitions, their conditions and targets taken from `giftplans.seats`;
- `table.Store`: the data layer, handed out once per process by `get_store()`.

Capability modules say *what* changes; this package says how DynamoDB spells it.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from giftplans.store.table import Store


@cache
def get_store() -> Store:
    """The process's one data layer (cached; `get_store.cache_clear()` in tests).

    Imported on first use: a module that only reads items (the stream readers' notices) loads
    the models without the data layer and its writes.
    """
    from giftplans.settings import get as settings
    from giftplans.store.table import Store

    return Store(settings().table_name)


__all__ = ["get_store"]
