"""The DynamoDB round trips each transition costs (the design's budget; a benchmark counts them too)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from giftplans import claims, entitlements
from giftplans.identity import Caller
from giftplans.invitations import batches, buyer, link
from giftplans.invitations.addresses import Row

from tests.support import factories
from tests.support import gifts as g
from tests.support.ddb_calls import counting

BUYER = Caller(g.BUYER, g.BUYER_EMAIL, True)


@contextmanager
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every DynamoDB request, whichever client sends it (tests/support/ddb_calls.py, as the benchmark)."""
    with counting() as calls:
        yield calls.names


def test_given_budget_when_each_transition_runs_then_it_costs_its_round_trips(
    aws: None, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = factories.paid_purchase(quantity=30)
    rows = [Row(f"p{i}@example.com") for i in range(batches.CHUNK)]  # the most one transaction takes

    with counted(monkeypatch) as calls:
        buyer.invite(pid, BUYER, rows)
    assert calls == ["BatchGetItem", "TransactWriteItems"]

    token, other = g.link(pid, "0001"), g.link(pid, "0003")
    with counted(monkeypatch) as calls:
        link.preview(token)
    assert len(calls) == 1, calls
    with counted(monkeypatch) as calls:  # the sender is read once, so My plan's read stays one
        link.accept(token, Caller("p0", "p0@example.com", True))
    assert calls == ["GetItem", "TransactWriteItems"]
    for action in (
        lambda: buyer.revoke(pid, "0002", BUYER),
        lambda: link.decline(other),
        lambda: (clock.advance(minutes=10), buyer.resend(pid, "0004", BUYER)),
        lambda: entitlements.current("p0"),
    ):
        with counted(monkeypatch) as calls:
            action()
        assert len(calls) == 1, calls

    with counted(monkeypatch) as calls:
        claims.claim(pid, BUYER)
    assert calls == ["BatchGetItem", "TransactWriteItems"]
