"""SPEC 8.3: lists of up to 1000 invitations: checked first, all or nothing, idempotent by key."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from giftplans import clock as c
from giftplans.errors import UpstreamUnavailable
from giftplans.invitations import batches
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.table import Store

from tests.support import factories
from tests.support import gifts as g
from tests.support.apigw import call, claims, http_event
from tests.support.ddb_calls import counting

pytestmark = pytest.mark.usefixtures("aws", "clock")


def send(
    purchase_id: str, rows: list[dict[str, Any]], key: str | None = None, who: dict[str, str] | None = None
) -> tuple[int, Any]:
    return call(
        "purchases_api",
        http_event(
            "POST",
            f"/purchases/{purchase_id}/invitations",
            route="/purchases/{purchase_id}/invitations",
            body={"invitations": rows},
            claims=who or g.who(),
            path_params={"purchase_id": purchase_id},
            headers={"Idempotency-Key": key} if key is not None else None,
        ),
    )


def rows_of(n: int, domain: str = "example.com") -> list[dict[str, Any]]:
    return [{"email": f"p{i}@{domain}"} for i in range(n)]


def invited(purchase_id: str) -> list[m.Seat]:
    return [
        s
        for s in m.Item.query(k.purchase_pk(purchase_id), m.Item.SK.startswith("SEAT#"))
        if isinstance(s, m.Seat) and s.state == "invited"
    ]


def test_given_1000_rows_when_sent_with_a_key_then_all_invited_within_ceil_n_over_25_plus_4_round_trips() -> (
    None
):
    pid = factories.paid_purchase(quantity=1000)
    with counting() as calls:
        status, body = send(pid, rows_of(1000), key="list-1")
    assert status == 201, body
    assert [s["seat_id"] for s in body["seats"]] == [f"{n:04d}" for n in range(1, 1001)]
    assert len(calls) <= math.ceil(1000 / 25) + 4, calls.by_operation
    purchase = g.purchase(pid)
    assert purchase.seat_counts.invited == 1000 and purchase.seat_counts.available == 0
    assert purchase.batch_lock is None
    assert len(invited(pid)) == 1000


def test_given_a_list_with_bad_rows_when_sent_then_422_names_each_row_and_nothing_is_written() -> None:
    pid = factories.paid_purchase(quantity=300)
    rows = rows_of(300)
    rows[7] = {"email": "not-an-address"}
    rows[250] = {"email": "P3@example.com"}  # a duplicate of row 3
    with counting() as calls:
        status, body = send(pid, rows, key="bad")
    assert (status, body["error"]["code"]) == (422, "invalid_rows")
    assert [(r["index"], r["code"]) for r in body["error"]["rows"]] == [
        (7, "invalid_email"),
        (250, "duplicate_in_request"),
    ]
    assert calls.names == []  # checked before anything is read or written
    assert invited(pid) == []


def test_given_a_list_naming_a_holder_when_sent_then_409_and_nothing_is_written() -> None:
    pid = factories.paid_purchase(quantity=100)
    assert send(pid, [{"email": "p60@example.com"}])[0] == 201
    status, body = send(pid, rows_of(61), key="dup")
    assert (status, body["error"]["code"]) == (409, "already_invited")
    assert len(invited(pid)) == 1


def test_given_more_rows_than_seats_available_when_sent_then_409_and_nothing_is_written() -> None:
    pid = factories.paid_purchase(quantity=40)
    status, body = send(pid, rows_of(41))
    assert (status, body["error"]["code"]) == (409, "no_seats_available")
    assert invited(pid) == []


def test_given_a_done_list_when_repeated_with_its_key_then_the_same_seats_and_nothing_is_written() -> None:
    pid = factories.paid_purchase(quantity=60)
    first = send(pid, rows_of(30), key="again")
    assert first[0] == 201
    versions = {s.seat_id: s.version for s in invited(pid)}
    with counting() as calls:
        second = send(pid, rows_of(30), key="again")
    assert second == first
    assert calls.by_operation.keys() == {"BatchGetItem"}  # read, answered, nothing written: nothing mailed
    assert {s.seat_id: s.version for s in invited(pid)} == versions
    assert g.purchase(pid).seat_counts.invited == 30


def test_given_a_key_when_reused_with_another_body_then_409_and_nothing_is_written() -> None:
    pid = factories.paid_purchase(quantity=10)
    assert send(pid, rows_of(2), key="k")[0] == 201
    status, body = send(pid, rows_of(3), key="k")
    assert (status, body["error"]["code"]) == (409, "idempotency_key_reused")
    status, body = send(
        pid, [{"email": "p0@example.com", "message": "hi"}, {"email": "p1@example.com"}], key="k"
    )
    assert (status, body["error"]["code"]) == (409, "idempotency_key_reused")
    assert len(invited(pid)) == 2


def test_given_another_buyers_purchase_when_its_key_is_reused_then_404_like_any_other_key() -> None:
    # SPEC 4: someone else's purchase is a 404; the key must not tell that it, or the list, exists.
    pid = factories.paid_purchase(quantity=10)
    assert send(pid, rows_of(2), key="k")[0] == 201
    other = claims("sub-other", "other@example.com")

    answers = [send(pid, rows_of(2), key, who=other) for key in ("k", "another-key", None)]

    assert [(status, body["error"]["code"]) for status, body in answers] == [(404, "purchase_not_found")] * 3
    assert len(invited(pid)) == 2


def test_given_a_short_list_with_a_key_then_two_round_trips() -> None:
    pid = factories.paid_purchase(quantity=10)
    with counting() as calls:
        assert send(pid, rows_of(3), key="short")[0] == 201
    assert calls.names == ["BatchGetItem", "TransactWriteItems"]


@pytest.mark.parametrize("key", ["", "x" * 256, "bad\nkey"])
def test_given_a_malformed_key_when_sent_then_400(key: str) -> None:
    pid = factories.paid_purchase(quantity=2)
    status, body = send(pid, rows_of(1), key=key)
    assert (status, body["error"]["code"]) == (400, "invalid_idempotency_key")


def test_given_a_crash_half_way_when_retried_with_its_key_then_finished_once_and_no_one_invited_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pid = factories.paid_purchase(quantity=120)
    real_write = Store.write
    writes = {"n": 0}

    def crashing(self: Store, build: Any) -> Any:
        writes["n"] += 1
        if writes["n"] == 3:
            raise UpstreamUnavailable("busy")
        return real_write(self, build)

    monkeypatch.setattr(Store, "write", crashing)
    status, body = send(pid, rows_of(100), key="crash")
    assert (status, body["error"]["code"]) == (503, "temporarily_unavailable")
    monkeypatch.setattr(Store, "write", real_write)

    half = g.purchase(pid)
    assert half.seat_counts.invited == 2 * batches.CHUNK  # two chunks committed
    assert half.batch_lock is not None
    status, body = send(pid, [{"email": "other@example.com"}])  # the list holds the purchase meanwhile
    assert (status, body["error"]["code"]) == (409, "list_in_progress")

    status, body = send(pid, rows_of(100), key="crash")
    assert status == 201, body
    assert [s["seat_id"] for s in body["seats"]] == [f"{n:04d}" for n in range(1, 101)]
    done = g.purchase(pid)
    assert done.seat_counts.invited == 100 and done.batch_lock is None
    emails = sorted(s.recipient_email for s in invited(pid))
    assert emails == sorted(f"p{i}@example.com" for i in range(100))
    counter = m.InviteCounter.get(k.account_pk(g.BUYER), k.invites_sk("2026-03-01"))
    assert counter.sent == 100  # the list counted once
    assert send(pid, [{"email": "other@example.com"}])[0] == 201


def _timed_rows(n: int, clock: Any) -> list[dict[str, Any]]:
    send_at = c.iso(c.now() + timedelta(minutes=5))
    return [{**row, "send_at": send_at} for row in rows_of(n)]


def test_given_a_done_list_with_send_at_when_repeated_after_send_at_then_the_same_seats_not_422(
    clock: Any,
) -> None:
    pid = factories.paid_purchase(quantity=30)
    rows = _timed_rows(30, clock)
    status, first = send(pid, rows, key="later")
    assert status == 201, first
    clock.advance(minutes=10)  # every send_at has passed
    status, again = send(pid, rows, key="later")
    assert status == 201, again
    assert again["seats"] == first["seats"]
    assert g.purchase(pid).seat_counts.invited == 30
    status, body = send(pid, rows, key="another")  # a new list is still checked against now
    assert (status, body["error"]["code"]) == (422, "invalid_rows")
    assert {r["code"] for r in body["error"]["rows"]} == {"send_at_in_past"}


def test_given_a_list_with_send_at_crashed_half_way_when_retried_after_send_at_then_it_is_finished(
    clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = factories.paid_purchase(quantity=120)
    rows = _timed_rows(100, clock)
    real_write = Store.write
    writes = {"n": 0}

    def crashing(self: Store, build: Any) -> Any:
        writes["n"] += 1
        if writes["n"] == 2:
            raise UpstreamUnavailable("busy")
        return real_write(self, build)

    monkeypatch.setattr(Store, "write", crashing)
    status, body = send(pid, rows, key="crash-later")
    assert (status, body["error"]["code"]) == (503, "temporarily_unavailable")
    monkeypatch.setattr(Store, "write", real_write)
    assert g.purchase(pid).seat_counts.invited == batches.CHUNK  # the first chunk only

    clock.advance(minutes=10)  # the retry comes after send_at
    status, body = send(pid, rows, key="crash-later")
    assert status == 201, body
    assert [s["seat_id"] for s in body["seats"]] == [f"{n:04d}" for n in range(1, 101)]
    done = g.purchase(pid)
    assert done.seat_counts.invited == 100 and done.batch_lock is None
    assert sorted(s.recipient_email for s in invited(pid)) == sorted(f"p{i}@example.com" for i in range(100))
    late = [s for s in invited(pid) if k.seat_sk(f"{batches.CHUNK:04d}") < s.SK]
    assert late and all(s.due_kind == "nudge" for s in late)  # their send_at passed: mailed at once
    assert m.InviteCounter.get(k.account_pk(g.BUYER), k.invites_sk("2026-03-01")).sent == 100
