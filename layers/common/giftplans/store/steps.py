"""A transaction whose actions carry names, so a refusal can be read by name.

PynamoDB sends a transaction's actions grouped (condition checks, deletes, puts,
updates), not in the order they were added, so DynamoDB's cancellation reasons come
back in that order. `Steps` records each action's name in its group and `Refused`
answers "did the `seat` condition fail, and how did the seat stand?" without index
arithmetic. Every conditioned put and update asks for ALL_OLD, so the refusal carries
the item as it stood: one round trip both tries the change and explains a refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from giftplans.store.models import Item
from giftplans.store.tx import Cancelled, transact

ALL_OLD = "ALL_OLD"


class Steps:
    def __init__(self, tx: TransactWrite) -> None:
        self.tx = tx
        self._checks: list[str] = []
        self._puts: list[str] = []
        self._updates: list[str] = []

    def check(
        self, name: str, model_cls: type[Item], hash_key: str, range_key: str, condition: Condition
    ) -> None:
        self.tx.condition_check(model_cls, hash_key, range_key, condition=condition)
        self._checks.append(name)

    def put(self, name: str, item: Item, condition: Condition | None = None) -> None:
        self.tx.save(item, condition=condition, return_values=ALL_OLD if condition is not None else None)
        self._puts.append(name)

    def update(self, name: str, item: Item, actions: list[Any], condition: Condition | None = None) -> None:
        self.tx.update(
            item,
            actions=actions,
            condition=condition,
            return_values=ALL_OLD if condition is not None else None,
        )
        self._updates.append(name)

    def order(self) -> list[str]:
        return [*self._checks, *self._puts, *self._updates]


class Refused(Exception):
    """The transaction was cancelled; ask by name which condition failed and what stood there."""

    def __init__(self, names: list[str], cancelled: Cancelled) -> None:
        super().__init__(str(cancelled))
        self.index = {name: i for i, name in enumerate(names)}
        self.cancelled = cancelled

    def failed(self, name: str) -> bool:
        i = self.index.get(name)
        return i is not None and self.cancelled.failed(i)

    def old(self, name: str) -> Any:
        i = self.index.get(name)
        return self.cancelled.old(i) if i is not None else None

    @property
    def conflict(self) -> bool:
        """Another transaction touched one of the items at the same moment: nothing failed, retry."""
        return self.cancelled.conflict and not any(self.cancelled.failed(i) for i in self.index.values())


def write(build: Callable[[Steps], None]) -> None:
    """Run one named transaction; `Refused` when DynamoDB cancels it (nothing was written)."""
    built: list[Steps] = []

    def run(tx: TransactWrite) -> None:
        steps = Steps(tx)
        built.append(steps)
        build(steps)

    try:
        transact(run)
    except Cancelled as cancelled:
        raise Refused(built[-1].order() if built else [], cancelled) from cancelled
