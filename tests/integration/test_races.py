"""Racing requests with real threads: two racing transitions never both win (SPEC section 3).

The domain calls run in threads directly rather than through the HTTP handlers: a
Powertools resolver holds the event being handled on the app object (Lambda runs one
event per process), so sharing one app between threads would mix the callers up.

moto applies a transaction's items one by one and rolls back by restoring a copy of
the whole table, so without help two threads could interleave inside each other's
transactions, which DynamoDB never does (transactions are serializable). The
`serializable` fixture makes each moto DynamoDB operation atomic, which is what the
real service guarantees; the races themselves are still real.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from giftplans import claims
from giftplans.errors import DomainError
from giftplans.identity import Caller
from giftplans.invitations import buyer, link
from giftplans.invitations.addresses import Row
from giftplans.store import keys as k
from giftplans.store import models as m
from moto.dynamodb.models import DynamoDBBackend

from tests.support import factories
from tests.support import gifts as g

BUYER = Caller(g.BUYER, g.BUYER_EMAIL, True)
OPS = (
    "transact_write_items",
    "get_item",
    "batch_get_item",
    "put_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
)


@pytest.fixture
def serializable(aws: None, clock: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    lock = threading.RLock()
    for name in OPS:
        original = getattr(DynamoDBBackend, name)

        def atomic(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return __original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, atomic)
    yield


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Start every call at the same instant in its own thread; each result is its value or its DomainError."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, fn: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[i] = fn()
        except DomainError as error:
            results[i] = error

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def _status(result: Any) -> int:
    return result.status if isinstance(result, DomainError) else 200


def test_given_one_link_when_five_accept_at_once_then_exactly_one_wins(serializable: None) -> None:
    pid = factories.paid_purchase(quantity=2)
    buyer.invite(pid, BUYER, [Row("ann@example.com")])
    token = g.link(pid, "0001")
    people = [Caller(f"ann-{i}", "ann@example.com", True) for i in range(5)]

    results = race(*[lambda c=c: link.accept(token, c) for c in people])

    assert sorted(_status(r) for r in results) == [200, 409, 409, 409, 409]
    winners = [c.sub for c, r in zip(people, results, strict=True) if _status(r) == 200]
    holders = [c.sub for c in people if m.Entitlement.count(k.account_pk(c.sub)) > 0]
    assert holders == winners
    seat = g.seat(pid, "0001")
    assert (seat.state, seat.recipient_sub) == ("accepted", winners[0])
    assert g.purchase(pid).seat_counts.accepted == 1


def test_given_invitations_when_revoke_races_accept_then_one_consistent_outcome_each_time(
    serializable: None,
) -> None:
    n = 6
    pid = factories.paid_purchase(quantity=n)
    emails = [f"r{i}@example.com" for i in range(n)]
    buyer.invite(pid, BUYER, [Row(e) for e in emails])
    outcomes: Counter[str] = Counter()
    for i, email in enumerate(emails):
        seat_id = k.seat_id_of(i + 1)
        token = g.link(pid, seat_id)
        person = Caller(f"r{i}", email, True)
        revoked, accepted = race(
            partial(buyer.revoke, pid, seat_id, BUYER),
            partial(link.accept, token, person),
        )

        seat = g.seat(pid, seat_id)
        has_plan = m.Entitlement.count(k.account_pk(person.sub)) > 0
        if _status(accepted) == 200:
            assert _status(revoked) == 409
            assert (seat.state, has_plan) == ("accepted", True)
            outcomes["accepted"] += 1
        else:
            assert _status(revoked) == 200 and _status(accepted) == 410
            assert (seat.state, seat.token_hash, has_plan) == ("available", None, False)
            outcomes["revoked"] += 1
    counts = g.purchase(pid).seat_counts
    assert (counts.accepted, counts.as_dict()["available"], counts.invited) == (
        outcomes["accepted"],
        outcomes["revoked"],
        0,
    )


def test_given_a_buyer_when_three_claims_race_then_one_claim(serializable: None) -> None:
    pids = [factories.paid_purchase(quantity=3) for _ in range(2)]

    results = race(
        lambda: claims.claim(pids[0], BUYER),
        lambda: claims.claim(pids[0], BUYER),
        lambda: claims.claim(pids[1], BUYER),
    )

    assert sorted(_status(r) for r in results) == [200, 409, 409]
    claimed = sum(g.purchase(p).seat_counts.claimed for p in pids)
    assert claimed == 1


def test_given_two_invites_of_one_address_when_they_race_then_one_seat_is_taken(serializable: None) -> None:
    pid = factories.paid_purchase(quantity=3)

    results = race(
        lambda: buyer.invite(pid, BUYER, [Row("ann@example.com")]),
        lambda: buyer.invite(pid, BUYER, [Row("ANN@example.com")]),
    )

    assert sorted(_status(r) for r in results) == [200, 409]
    purchase = g.purchase(pid)
    assert purchase.seat_counts.invited == 1 and len(g.live_holders(pid)) == 1


def test_given_two_invites_of_different_addresses_when_they_race_then_both_get_distinct_seats(
    serializable: None,
) -> None:
    pid = factories.paid_purchase(quantity=3)

    results = race(
        lambda: buyer.invite(pid, BUYER, [Row("ann@example.com")]),
        lambda: buyer.invite(pid, BUYER, [Row("bob@example.com")]),
    )

    assert [_status(r) for r in results] == [200, 200]
    assert {r[0].seat_id for r in results} == {"0001", "0002"}
    assert g.free_numbers(pid) == {3}
