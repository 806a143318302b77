"""GET /purchases/{id} pages its seats: limit, cursor, state, email; ownership first; 2 round trips a page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support import gifts as g
from tests.support.apigw import call, claims, http_event
from tests.support.ddb_calls import counting
from tests.support.factories import paid_purchase

pytestmark = pytest.mark.usefixtures("aws", "clock")

BUYER = claims("buyer-1", "buyer@example.com")
OTHER = claims("buyer-2", "other@example.com")


def get_purchase(purchase_id: str, *, who: dict[str, str] | None = BUYER, **query: str) -> tuple[int, Any]:
    event = http_event(
        "GET",
        f"/purchases/{purchase_id}",
        route="/purchases/{purchase_id}",
        path_params={"purchase_id": purchase_id},
        claims=who,
        query=query or None,
    )
    return call("purchases_api", event)


def all_pages(purchase_id: str, **query: str) -> tuple[list[str], int]:
    seen: list[str] = []
    pages = 0
    cursor: str | None = None
    while True:
        extra = {**query, **({"cursor": cursor} if cursor else {})}
        status, body = get_purchase(purchase_id, **extra)  # type: ignore[arg-type]
        assert status == 200, body
        pages += 1
        seen += [s["seat_id"] for s in body["seats"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages


def test_given_250_seats_when_paged_by_default_then_pages_of_100_each_seat_once_in_order() -> None:
    pid = paid_purchase(quantity=250)
    status, first = get_purchase(pid)
    assert status == 200
    assert len(first["seats"]) == 100
    assert first["next_cursor"]
    seen, pages = all_pages(pid)
    assert seen == [f"{n:04d}" for n in range(1, 251)]
    assert pages == 3


def test_given_7_seats_when_paged_by_3_then_each_exactly_once() -> None:
    pid = paid_purchase(quantity=7)
    seen, pages = all_pages(pid, limit="3")
    assert seen == [f"{n:04d}" for n in range(1, 8)]
    assert pages == 3


def test_given_a_page_when_read_then_at_most_two_round_trips_purchase_first() -> None:
    pid = paid_purchase(quantity=120)
    g.invite(pid, "a@example.com", "b@example.com")
    for query in ({}, {"state": "invited"}, {"email": "a@"}, {"limit": "5"}):
        with counting() as calls:
            status, _ = get_purchase(pid, **query)  # type: ignore[arg-type]
        assert status == 200
        assert calls.names == ["GetItem", "Query"], (query, calls.names)


def test_given_another_buyers_purchase_when_read_then_404_and_no_seat_is_read() -> None:
    pid = paid_purchase("buyer-2", "other@example.com", quantity=5)
    with counting() as calls:
        status, body = get_purchase(pid)
    assert status == 404
    assert body["error"]["code"] == "purchase_not_found"
    assert calls.names == ["GetItem"]


def test_given_invited_seats_when_filtered_by_state_then_only_those() -> None:
    pid = paid_purchase(quantity=6)
    assert g.invite(pid, "a@example.com", "b@example.com")[0] == 201
    status, body = get_purchase(pid, state="invited")
    assert status == 200
    assert [(s["seat_id"], s["state"]) for s in body["seats"]] == [("0001", "invited"), ("0002", "invited")]
    _, free = get_purchase(pid, state="available")
    assert [s["seat_id"] for s in free["seats"]] == ["0003", "0004", "0005", "0006"]


def test_given_addresses_when_searched_exactly_or_by_prefix_then_matching_seats_case_insensitive() -> None:
    pid = paid_purchase(quantity=5)
    assert g.invite(pid, "Alice@Example.com", "alfred@example.com", "bob@example.com")[0] == 201
    _, exact = get_purchase(pid, email="alice@example.com")
    assert [s["recipient_email"] for s in exact["seats"]] == ["Alice@Example.com"]
    _, prefix = get_purchase(pid, email="AL")
    assert [s["recipient_email"] for s in prefix["seats"]] == ["Alice@Example.com", "alfred@example.com"]
    _, none = get_purchase(pid, email="zed@")
    assert none["seats"] == []
    assert none["next_cursor"] is None


def test_given_filter_and_small_limit_when_paged_then_every_match_once() -> None:
    pid = paid_purchase(quantity=12)
    emails = [f"p{i}@example.com" for i in range(5)]
    assert g.invite(pid, *emails)[0] == 201
    seen, _ = all_pages(pid, state="invited", limit="2")
    assert seen == ["0001", "0002", "0003", "0004", "0005"]


def test_given_term_ended_when_filtered_then_state_is_what_a_reader_sees(clock: Any) -> None:
    pid = paid_purchase(quantity=3)
    assert g.invite(pid, "a@example.com")[0] == 201
    clock.set(datetime(2027, 3, 1, 12, 0, tzinfo=UTC) + timedelta(seconds=1))
    _, expired = get_purchase(pid, state="expired")
    assert [s["seat_id"] for s in expired["seats"]] == ["0001", "0002", "0003"]
    _, invited = get_purchase(pid, state="invited")
    assert invited["seats"] == []


@pytest.mark.parametrize("cursor", ["nope", "c2VhdDp4eHg", "eyJQSyI6MX0"])
def test_given_a_cursor_not_given_out_when_read_then_400_invalid_cursor(cursor: str) -> None:
    pid = paid_purchase(quantity=2)
    status, body = get_purchase(pid, cursor=cursor)
    assert status == 400
    assert body["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize(("name", "value"), [("limit", "0"), ("limit", "101"), ("state", "lost")])
def test_given_bad_query_when_read_then_422(name: str, value: str) -> None:
    pid = paid_purchase(quantity=2)
    status, _ = get_purchase(pid, **{name: value})  # type: ignore[arg-type]
    assert status == 422
