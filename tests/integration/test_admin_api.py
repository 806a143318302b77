"""The support API: IAM callers only; every action lands in the purchase's audit trail as support:<arn>."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from giftplans import clock as real_clock
from giftplans.store import get_store

from tests.support import gifts as g
from tests.support.apigw import call, claims, http_event
from tests.support.factories import paid_purchase
from tests.support.stripe_fake import FakeStripe
from tests.support.upgrade_steps import (
    audit_trail,
    holder,
    invited,
    seats,
)

pytestmark = pytest.mark.usefixtures("aws", "clock")

ARN = "arn:aws:sts::000000000000:assumed-role/gift-plans-support/support-sam"
SUPPORT = f"support:{ARN}"
BUYER, BUYER_EMAIL = "buyer-1", "buyer@example.com"


def admin(
    method: str,
    path: str,
    route: str,
    *,
    body: Any = None,
    query: dict[str, str] | None = None,
    path_params: dict[str, str] | None = None,
    iam: bool = True,
) -> tuple[int, Any]:
    return call(
        "admin_api",
        http_event(
            method,
            path,
            route=route,
            body=body,
            query=query,
            path_params=path_params,
            iam_arn=ARN if iam else None,
            claims=None if iam else claims("someone", "someone@example.com"),
        ),
    )


def seat_route(purchase_id: str, seat_id: str, action: str, iam: bool = True) -> tuple[int, Any]:
    return admin(
        "POST",
        f"/admin/purchases/{purchase_id}/seats/{seat_id}/{action}",
        f"/admin/purchases/{{purchase_id}}/seats/{{seat_id}}/{action}",
        path_params={"purchase_id": purchase_id, "seat_id": seat_id},
        iam=iam,
    )


def setup_purchase() -> str:
    """Seats: 0001 accepted by rita, 0002 invited to ivan, 0003 available."""
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL, quantity=3)
    holder(purchase_id, 1, "rita", "rita@example.com")
    invited(purchase_id, 2, "ivan@example.com")
    return purchase_id


def support_events(purchase_id: str) -> list[tuple[str, list[str]]]:
    return [(e.kind, list(e.seat_ids or [])) for e in audit_trail(purchase_id) if e.actor == SUPPORT]


# ---- who may call ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method,path,route,body",
    [
        ("GET", "/admin/purchases", "/admin/purchases", None),
        ("GET", "/admin/purchases/pur_x", "/admin/purchases/{purchase_id}", None),
        ("GET", "/admin/purchases/pur_x/events", "/admin/purchases/{purchase_id}/events", None),
        (
            "POST",
            "/admin/purchases/pur_x/seats/0001/resend",
            "/admin/purchases/{purchase_id}/seats/{seat_id}/resend",
            None,
        ),
        (
            "POST",
            "/admin/purchases/pur_x/seats/0001/cancel",
            "/admin/purchases/{purchase_id}/seats/{seat_id}/cancel",
            None,
        ),
        (
            "POST",
            "/admin/upgrades",
            "/admin/upgrades",
            {"purchase_id": "pur_x", "seat_id": "0001", "plan": "team"},
        ),
    ],
)
def test_given_jwt_caller_when_admin_route_called_then_403_support_only(
    method: str, path: str, route: str, body: Any
) -> None:
    status, answer = admin(method, path, route, body=body, query={"buyer_email": BUYER_EMAIL}, iam=False)
    assert status == 403
    assert answer["error"]["code"] == "support_only"


# ---- reads ----------------------------------------------------------------------------------------------


def test_given_purchases_when_searched_by_buyer_email_then_found_whatever_the_case() -> None:
    first, second = setup_purchase(), paid_purchase(BUYER, BUYER_EMAIL, quantity=1)
    paid_purchase("other", "other@example.com", quantity=1)

    status, body = admin(
        "GET", "/admin/purchases", "/admin/purchases", query={"buyer_email": "Buyer@Example.com"}
    )

    assert status == 200, body
    assert {p["purchase_id"] for p in body["purchases"]} == {first, second}
    assert body["purchases"][0]["buyer_email"] == BUYER_EMAIL


def test_given_invited_seat_when_searched_by_recipient_email_then_seat_and_its_purchase_found() -> None:
    purchase_id = setup_purchase()

    status, body = admin(
        "GET", "/admin/purchases", "/admin/purchases", query={"recipient_email": "ivan@example.com"}
    )

    assert status == 200, body
    assert [(s["purchase_id"], s["seat_id"], s["state"]) for s in body["seats"]] == [
        (purchase_id, "0002", "invited")
    ]
    assert [p["purchase_id"] for p in body["purchases"]] == [purchase_id]


def test_given_both_or_no_email_when_searched_then_422() -> None:
    status, body = admin("GET", "/admin/purchases", "/admin/purchases")
    assert status == 422 and body["error"]["code"] == "one_email_required"


def test_given_any_purchase_when_read_by_support_then_purchase_seats_and_trail() -> None:
    purchase_id = setup_purchase()

    status, body = admin(
        "GET",
        f"/admin/purchases/{purchase_id}",
        "/admin/purchases/{purchase_id}",
        path_params={"purchase_id": purchase_id},
    )
    assert status == 200, body
    assert body["purchase"]["purchase_id"] == purchase_id
    assert [s["state"] for s in body["seats"]] == ["accepted", "invited", "available"]

    status, trail = admin(
        "GET",
        f"/admin/purchases/{purchase_id}/events",
        "/admin/purchases/{purchase_id}/events",
        path_params={"purchase_id": purchase_id},
    )
    assert status == 200
    assert trail["events"][0]["kind"] == "purchase.paid"


def test_given_unknown_purchase_when_read_then_404() -> None:
    status, body = admin(
        "GET",
        "/admin/purchases/pur_nope",
        "/admin/purchases/{purchase_id}",
        path_params={"purchase_id": "pur_nope"},
    )
    assert status == 404
    assert body["error"]["code"] == "purchase_not_found"


# ---- actions --------------------------------------------------------------------------------------------


def test_given_invited_seat_when_support_resends_then_fresh_link_and_audited(clock) -> None:
    purchase_id = setup_purchase()
    old_nonce = seats(purchase_id)["0002"].nonce
    clock.advance(minutes=11)

    status, body = seat_route(purchase_id, "0002", "resend")

    assert status == 202, body
    seat = seats(purchase_id)["0002"]
    assert seat.nonce != old_nonce and seat.last_action == "resend" and seat.actor == SUPPORT
    assert ("seat.resent", ["0002"]) in support_events(purchase_id)


def test_given_invited_and_available_seats_when_support_cancels_then_cancelled_counted_and_audited() -> None:
    purchase_id = setup_purchase()

    first = seat_route(purchase_id, "0002", "cancel")
    second = seat_route(purchase_id, "0003", "cancel")

    assert first[0] == second[0] == 200
    assert first[1]["seat"]["state"] == "cancelled"
    stored = seats(purchase_id)
    assert (stored["0002"].state, stored["0002"].last_action, stored["0002"].nonce) == (
        "cancelled",
        "cancel",
        None,
    )
    purchase = get_store().purchase(purchase_id)
    assert purchase is not None
    counts = purchase.seat_counts.as_dict()
    assert (counts["cancelled"], counts["invited"], counts["available"], counts["accepted"]) == (2, 0, 0, 1)
    assert not g.free_numbers(purchase.purchase_id)
    assert "0002" not in g.live_holders(purchase.purchase_id)
    assert sorted(support_events(purchase_id)) == [("seat.cancelled", ["0002"]), ("seat.cancelled", ["0003"])]


def test_given_accepted_seat_when_support_cancels_then_409_and_nothing_changes() -> None:
    purchase_id = setup_purchase()
    version = seats(purchase_id)["0001"].version

    status, body = seat_route(purchase_id, "0001", "cancel")

    assert status == 409 and body["error"]["code"] == "seat_not_cancellable"
    assert seats(purchase_id)["0001"].version == version
    assert support_events(purchase_id) == []


def test_given_accepted_seat_when_support_offers_upgrade_then_quote_and_a_7_day_link_set_for_mail(
    clock, stripe: FakeStripe
) -> None:
    purchase_id = setup_purchase()
    clock.advance(days=100)

    status, body = admin(
        "POST",
        "/admin/upgrades",
        "/admin/upgrades",
        body={"purchase_id": purchase_id, "seat_id": "0001", "plan": "team"},
    )

    assert status == 201, body
    assert set(body) == {"seat", "quote", "offer_url", "offer_until"}
    assert body["quote"]["credit"] == 17425
    assert body["offer_url"].startswith("http://127.0.0.1:3000/upgrade?offer=" + purchase_id + ".0001.team.")
    assert body["offer_until"] == real_clock.iso(clock.now + timedelta(days=7))
    assert stripe.to("/v1/checkout/sessions") == []  # the session is made on each click, not now
    seat = seats(purchase_id)["0001"]
    assert (
        seat.upgrade_offer_url,
        seat.upgrade_offer_until,
        seat.upgrade_plan,
        seat.last_action,
        seat.actor,
    ) == (
        body["offer_url"],
        body["offer_until"],
        "team",
        "upgrade_offer",
        SUPPORT,
    )
    assert seat.state == "accepted"
    assert support_events(purchase_id) == [("seat.upgrade_offered", ["0001"])]


def test_given_available_seat_when_support_upgrades_then_409() -> None:
    purchase_id = setup_purchase()
    status, body = admin(
        "POST",
        "/admin/upgrades",
        "/admin/upgrades",
        body={"purchase_id": purchase_id, "seat_id": "0003", "plan": "team"},
    )
    assert status == 409 and body["error"]["code"] == "seat_not_in_use"


def test_given_unfulfillable_checkout_when_support_lists_attention_then_it_is_there_until_fulfilled(
    monkeypatch: pytest.MonkeyPatch, settings: None
) -> None:
    from tests.support import stripe_events as se

    evt = se.checkout_completed(
        metadata={
            "kind": "gift",
            "buyer_id": BUYER,
            "buyer_email": BUYER_EMAIL,
            "plan": "pro-2025",
            "quantity": "2",
        },
        line_items={"data": [{"price": {"id": "price_old"}, "quantity": 2}]},
    )
    assert call("stripe_webhook", se.webhook_request(evt))[0] == 503
    assert admin("GET", "/admin/attention", "/admin/attention", iam=False)[0] == 403

    status, body = admin("GET", "/admin/attention", "/admin/attention")

    assert status == 200 and [i["session_id"] for i in body["items"]] == [evt["data"]["object"]["id"]]
    assert body["items"][0]["amount_total"] == evt["data"]["object"]["amount_total"]
    monkeypatch.setenv("RETIRED_PRICES", '{"price_old": "pro"}')  # the operator's fix; Stripe retries
    from giftplans import settings as s

    s.get.cache_clear()
    assert call("stripe_webhook", se.webhook_request(evt))[0] == 200
    assert admin("GET", "/admin/attention", "/admin/attention")[1] == {"items": []}
