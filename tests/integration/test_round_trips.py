"""The DynamoDB round trips each transition costs (the design's budget; a benchmark counts them too)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from giftplans import claims, entitlements, givers
from giftplans.identity import Caller
from giftplans.invitations import batches, buyer, link
from giftplans.invitations.addresses import Row

from tests.support import factories, streams
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
    invited = g.seat(pid, "0001")
    with counted(monkeypatch) as calls:  # nothing read first: the sender comes from the stream
        link.accept(token, Caller("p0", "p0@example.com", True))
    assert calls == ["TransactWriteItems"]
    givers.fill([streams.record(invited, g.seat(pid, "0001"))])  # the events publisher's part
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


@contextmanager
def transaction_sizes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The item count of every TransactWriteItems sent (DynamoDB refuses more than 100)."""
    import botocore.client

    sizes: list[int] = []
    original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

    def spy(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "TransactWriteItems":
            sizes.append(len(params["TransactItems"]))
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", spy)
    yield sizes


def test_given_25_fresh_seats_when_invited_then_one_read_and_one_transaction_of_78_items(
    aws: None, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = factories.paid_purchase(quantity=30)
    rows = [Row(f"p{i}@example.com") for i in range(25)]

    with transaction_sizes(monkeypatch) as sizes, counted(monkeypatch) as calls:
        buyer.invite(pid, BUYER, rows)

    assert calls == ["BatchGetItem", "TransactWriteItems"]
    assert sizes == [3 + 25 * 3]
    assert g.purchase(pid).seat_counts.invited == 25
    assert g.seat(pid, "0025").state == "invited"


def _reused(pid: str, seats: int) -> None:
    """`seats` seats handed out and taken back: each leaves a FreeSeat marker."""
    g.invite(pid, *[f"back{i}@example.com" for i in range(seats)])
    for n in range(1, seats + 1):
        assert g.seat_action(pid, f"{n:04d}", "revoke")[0] == 200


def test_given_reused_seats_that_still_fit_when_25_invited_then_one_transaction(
    aws: None, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = factories.paid_purchase(quantity=27)
    _reused(pid, 3)  # 24 fresh seats left: the list takes one marker too
    rows = [Row(f"p{i}@example.com") for i in range(25)]

    with transaction_sizes(monkeypatch) as sizes, counted(monkeypatch) as calls:
        buyer.invite(pid, BUYER, rows)

    assert calls == ["BatchGetItem", "Query", "TransactWriteItems"]  # the Query finds the markers
    assert sizes == [3 + 25 * 3 + 1]
    assert g.purchase(pid).seat_counts.invited == 25


def test_given_reused_seats_past_100_items_when_32_invited_then_chunks_and_all_invited(
    aws: None, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = factories.paid_purchase(quantity=33)
    _reused(pid, 3)  # 30 fresh seats and 3 markers: 32 rows need 3 + 96 + 2 = 101 items
    rows = [Row(f"p{i}@example.com") for i in range(batches.ONE_WRITE_ROWS)]

    with transaction_sizes(monkeypatch) as sizes:
        views = buyer.invite(pid, BUYER, rows)

    assert len(sizes) == 2 and max(sizes) <= batches.TRANSACTION_ITEMS, sizes
    assert len({v.seat_id for v in views}) == 32
    assert g.purchase(pid).seat_counts.invited == 32


def test_given_the_item_rule_then_25_fresh_rows_fit_and_33_never_do() -> None:
    assert batches.fits_one_write(25, 0) and batches.fits_one_write(25, 22)
    assert not batches.fits_one_write(25, 23)
    assert batches.fits_one_write(batches.ONE_WRITE_ROWS, 0)
    assert not batches.fits_one_write(batches.ONE_WRITE_ROWS + 1, 0)


def test_given_an_accept_the_stream_has_not_reached_when_my_plan_is_read_then_two_reads_name_the_sender(
    aws: None, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = factories.paid_purchase(quantity=2)
    g.invite(pid, "ann@example.com")
    invited = g.seat(pid, "0001")
    link.accept(g.link(pid, "0001"), Caller("ann", "ann@example.com", True))

    with counted(monkeypatch) as calls:
        assert entitlements.current("ann").gift_from == "b***@e***.com"
    assert calls == ["GetItem", "GetItem"]  # the entitlement, then the seat: until the stream has run

    givers.fill([streams.record(invited, g.seat(pid, "0001"))])
    with counted(monkeypatch) as calls:
        assert entitlements.current("ann").gift_from == "b***@e***.com"
    assert calls == ["GetItem"]
