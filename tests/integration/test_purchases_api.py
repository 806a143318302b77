"""GET /purchases and GET /purchases/{purchase_id}: the SPEC shapes, newest first, paginated, private."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from giftplans.store import keys as k
from giftplans.store import models as m

from tests.support.apigw import call, claims, http_event
from tests.support.factories import paid_purchase

pytestmark = pytest.mark.usefixtures("aws", "clock")

BUYER = claims("buyer-1", "buyer@example.com")
OTHER = claims("buyer-2", "other@example.com")
PURCHASE_KEYS = {
    "purchase_id",
    "plan",
    "quantity",
    "status",
    "currency",
    "amount_total",
    "term_start",
    "term_end",
    "days_left",
    "seat_counts",
    "frozen",
}
SEAT_KEYS = {"seat_id", "state", "recipient_email", "invited_at", "accepted_at", "delivery", "resend_count"}
STATES = {"available", "invited", "accepted", "claimed", "upgraded", "expired", "cancelled"}


def list_purchases(who: dict[str, str] | None = BUYER, **query: str) -> tuple[int, Any]:
    return call("purchases_api", http_event("GET", "/purchases", claims=who, query=query or None))


def get_purchase(purchase_id: str, who: dict[str, str] | None = BUYER, **query: str) -> tuple[int, Any]:
    event = http_event(
        "GET",
        f"/purchases/{purchase_id}",
        route="/purchases/{purchase_id}",
        path_params={"purchase_id": purchase_id},
        claims=who,
        query=query or None,
    )
    return call("purchases_api", event)


def invite_seat_directly(
    purchase_id: str, seat_id: str, email: str, at: str, delivery: str | None = None
) -> None:
    """Stand-in for the invitations capability: one seat invited, counts kept in step."""
    seat = m.Seat.get(k.purchase_pk(purchase_id), k.seat_sk(seat_id))
    seat.update(
        actions=[
            m.Seat.state.set("invited"),
            m.Seat.recipient_email.set(email),
            m.Seat.invited_at.set(at),
            *([m.Seat.delivery.set(delivery)] if delivery else []),
        ]
    )
    purchase = m.Purchase.get(k.purchase_pk(purchase_id), k.PURCHASE_SK)
    purchase.update(
        actions=[m.Purchase.seat_counts["available"].add(-1), m.Purchase.seat_counts["invited"].add(1)]
    )


# ---- GET /purchases -----------------------------------------------------------------------------------


def test_given_two_purchases_when_listed_then_newest_first_in_spec_shape(clock: Any) -> None:
    older = paid_purchase("buyer-1", quantity=2, plan="connect", unit_amount=12000)
    clock.advance(days=3)
    newer = paid_purchase("buyer-1", quantity=5)
    paid_purchase("buyer-2", "other@example.com")
    status, body = list_purchases()
    assert status == 200
    assert [p["purchase_id"] for p in body["purchases"]] == [newer, older]
    assert body["next_cursor"] is None
    first = body["purchases"][0]
    assert set(first) >= PURCHASE_KEYS
    assert first["status"] == "paid"
    assert (first["plan"], first["quantity"], first["currency"]) == ("pro", 5, "usd")
    assert first["amount_total"] == 120000
    assert first["term_start"] == "2026-03-04T12:00:00Z"
    assert first["term_end"] == "2027-03-04T12:00:00Z"
    assert first["days_left"] == 365
    assert first["seat_counts"] == {
        "available": 5,
        "invited": 0,
        "accepted": 0,
        "claimed": 0,
        "upgraded": 0,
        "expired": 0,
        "cancelled": 0,
    }
    assert first["frozen"] is False


def test_given_no_purchases_when_listed_then_empty_page() -> None:
    assert list_purchases() == (200, {"purchases": [], "next_cursor": None})


def test_given_seven_purchases_when_paged_by_three_then_each_exactly_once_newest_first(clock: Any) -> None:
    made = []
    for _ in range(7):
        made.append(paid_purchase("buyer-1", quantity=1))
        clock.advance(minutes=5)
    paid_purchase("buyer-2", quantity=1)
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        status, body = list_purchases(BUYER, limit="3", **({"cursor": cursor} if cursor else {}))
        assert status == 200
        assert len(body["purchases"]) <= 3
        seen += [p["purchase_id"] for p in body["purchases"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))


@pytest.mark.parametrize(
    "cursor",
    ["garbage!", "e30", "W10", "eyJQSyI6eyJTIjoieCJ9fQ"],
    ids=["not-base64", "empty-object", "list", "missing-keys"],
)
def test_given_bad_cursor_when_listed_then_400_invalid_cursor(cursor: str) -> None:
    status, body = list_purchases(cursor=cursor)
    assert status == 400
    assert body["error"]["code"] == "invalid_cursor"


def test_given_another_buyers_cursor_when_listed_then_400_invalid_cursor(clock: Any) -> None:
    for _ in range(3):
        paid_purchase("buyer-2", "other@example.com", quantity=1)
        clock.advance(minutes=1)
    _, page = list_purchases(OTHER, limit="1")
    assert page["next_cursor"]
    status, body = list_purchases(cursor=page["next_cursor"])
    assert status == 400
    assert body["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_given_limit_out_of_range_when_listed_then_422(limit: str) -> None:
    status, body = list_purchases(limit=limit)
    assert status == 422
    assert body["error"]["code"] == "invalid_field"


def test_given_no_identity_when_listed_then_401() -> None:
    status, body = list_purchases(None)
    assert status == 401
    assert body["error"]["code"] == "unauthenticated"


# ---- GET /purchases/{purchase_id} ---------------------------------------------------------------------


def test_given_purchase_with_an_invited_seat_when_read_then_purchase_and_every_seat(clock: Any) -> None:
    pid = paid_purchase("buyer-1", quantity=3)
    invite_seat_directly(pid, "0002", "friend@example.com", "2026-03-02T09:00:00Z", delivery="complained")
    status, body = get_purchase(pid)
    assert status == 200
    assert set(body) == {"purchase", "seats", "next_cursor"}
    assert body["next_cursor"] is None
    assert body["purchase"]["purchase_id"] == pid
    assert body["purchase"]["seat_counts"]["available"] == 2
    assert body["purchase"]["seat_counts"]["invited"] == 1
    assert [s["seat_id"] for s in body["seats"]] == ["0001", "0002", "0003"]
    for seat in body["seats"]:
        assert set(seat) >= SEAT_KEYS
        assert seat["state"] in STATES
    invited = body["seats"][1]
    assert invited == {
        **invited,
        "state": "invited",
        "recipient_email": "friend@example.com",
        "invited_at": "2026-03-02T09:00:00Z",
        "accepted_at": None,
        "delivery": "bounced",
        "resend_count": 0,
    }
    assert body["seats"][0] == {
        **body["seats"][0],
        "state": "available",
        "recipient_email": None,
        "invited_at": None,
        "delivery": None,
    }


def test_given_purchase_when_read_with_events_then_audit_trail_included() -> None:
    pid = paid_purchase("buyer-1", quantity=1)
    status, body = get_purchase(pid, include="events")
    assert status == 200
    assert [e["kind"] for e in body["events"]] == ["purchase.paid"]
    assert body["events"][0]["actor"] == "stripe"


def test_given_another_buyers_purchase_when_read_then_404_like_an_unknown_id() -> None:
    pid = paid_purchase("buyer-2", "other@example.com", quantity=1)
    theirs = get_purchase(pid)
    unknown = get_purchase("pur_" + "a" * 26)
    assert theirs[0] == unknown[0] == 404
    assert theirs[1] == unknown[1]
    assert theirs[1]["error"]["code"] == "purchase_not_found"
    assert get_purchase(pid, OTHER)[0] == 200


def test_given_malformed_id_when_read_then_404() -> None:
    status, body = get_purchase("not-a-purchase")
    assert status == 404
    assert body["error"]["code"] == "purchase_not_found"


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 3, 1, 12, 0, tzinfo=UTC), 365),
        (datetime(2026, 3, 1, 23, 59, tzinfo=UTC), 365),
        (datetime(2026, 3, 2, 0, 1, tzinfo=UTC), 364),
        (datetime(2027, 2, 28, 23, 59, tzinfo=UTC), 1),
        (datetime(2027, 3, 1, 11, 59, tzinfo=UTC), 0),
        (datetime(2027, 3, 1, 12, 0, tzinfo=UTC), 0),
        (datetime(2027, 6, 1, tzinfo=UTC), 0),
    ],
    ids=[
        "at-start",
        "same-day-late",
        "next-day",
        "last-day-eve",
        "end-day-before-end",
        "at-end",
        "long-after",
    ],
)
def test_given_purchase_bought_2026_03_01_noon_when_read_later_then_days_left_counts_whole_utc_days(
    clock: Any, now: datetime, expected: int
) -> None:
    pid = paid_purchase("buyer-1", quantity=1)
    clock.set(now)
    _, body = get_purchase(pid)
    assert body["purchase"]["days_left"] == expected


def test_given_term_ended_and_sweep_late_when_read_then_seats_and_counts_show_expired(clock: Any) -> None:
    pid = paid_purchase("buyer-1", quantity=3)
    invite_seat_directly(pid, "0001", "friend@example.com", "2026-03-02T09:00:00Z")
    clock.set(datetime(2027, 3, 1, 12, 0, tzinfo=UTC) + timedelta(seconds=1))
    _, detail = get_purchase(pid)
    assert [s["state"] for s in detail["seats"]] == ["expired"] * 3
    assert detail["purchase"]["seat_counts"]["expired"] == 3
    assert detail["purchase"]["seat_counts"]["available"] == detail["purchase"]["seat_counts"]["invited"] == 0
    assert detail["purchase"]["active"] is False
    _, listing = list_purchases()
    assert listing["purchases"][0]["seat_counts"]["expired"] == 3


def test_given_no_identity_when_read_then_401() -> None:
    pid = paid_purchase("buyer-1", quantity=1)
    assert get_purchase(pid, None)[0] == 401


# ---- GET /purchases/{purchase_id}/seats/{seat_id}: one seat and its history ----------------------------


def get_seat(purchase_id: str, seat_id: str, who: dict[str, str] | None = BUYER) -> tuple[int, Any]:
    event = http_event(
        "GET",
        f"/purchases/{purchase_id}/seats/{seat_id}",
        route="/purchases/{purchase_id}/seats/{seat_id}",
        path_params={"purchase_id": purchase_id, "seat_id": seat_id},
        claims=who,
    )
    return call("purchases_api", event)


def test_given_a_seat_sent_resent_revoked_and_declined_when_asked_then_its_history_in_order_with_times(
    clock: Any,
) -> None:
    from tests.support import gifts as g

    pid = paid_purchase(quantity=3)
    t0 = clock.now
    g.invite(pid, "ann@example.com", "bob@example.com")
    clock.advance(minutes=11)
    g.seat_action(pid, "0001", "resend")
    clock.advance(minutes=1)
    g.seat_action(pid, "0001", "revoke")
    g.decline(g.link(pid, "0002"))

    status, body = get_seat(pid, "0001")

    assert status == 200
    assert body["seat"]["seat_id"] == "0001" and body["seat"]["state"] == "available"
    assert [(h["event"], h["at"], h["actor"]) for h in body["history"]] == [
        ("invited", t0.strftime("%Y-%m-%dT%H:%M:%SZ"), "buyer"),
        ("resent", (t0 + timedelta(minutes=11)).strftime("%Y-%m-%dT%H:%M:%SZ"), "buyer"),
        ("revoked", (t0 + timedelta(minutes=12)).strftime("%Y-%m-%dT%H:%M:%SZ"), "buyer"),
    ]
    assert body["history"][0]["recipient"] == "a***@e***.com"
    other = get_seat(pid, "0002")[1]["history"]
    assert [(h["event"], h["actor"]) for h in other] == [("invited", "buyer"), ("declined", "recipient")]
    assert other[0]["recipient"] == "b***@e***.com"


def test_given_a_resent_seat_when_read_then_last_sent_at_says_when_its_link_went_out(clock: Any) -> None:
    from tests.support import gifts as g

    pid = paid_purchase(quantity=2)
    g.invite(pid, "ann@example.com")
    clock.advance(minutes=15)
    g.seat_action(pid, "0001", "resend")
    seat = get_seat(pid, "0001")[1]["seat"]
    assert seat["last_sent_at"] == clock.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert get_seat(pid, "0002")[1]["seat"]["last_sent_at"] is None


def test_given_another_buyers_purchase_or_an_unknown_seat_when_asked_then_404(clock: Any) -> None:
    pid = paid_purchase(quantity=2)
    assert get_seat(pid, "0001", who=OTHER)[0] == 404
    assert get_seat(pid, "0009")[1]["error"]["code"] == "seat_not_found"
    assert get_seat("pur_nope", "0001")[1]["error"]["code"] == "purchase_not_found"
    assert get_seat(pid, "0001", who=None)[0] == 401
