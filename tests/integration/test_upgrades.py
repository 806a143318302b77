"""Rule 8 through the HTTP routes and the webhook: quote, checkout with a one-time credit, completion."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from giftplans import clock as real_clock
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m

from tests.support import gifts as g
from tests.support import stripe_events as se
from tests.support.apigw import call, claims, http_event
from tests.support.factories import paid_purchase
from tests.support.stripe_fake import FakeStripe
from tests.support.upgrade_steps import (
    audit_trail,
    deliver,
    entitlement,
    holder,
    seats,
)

pytestmark = pytest.mark.usefixtures("aws", "clock")

RECIPIENT, RECIPIENT_EMAIL = "recipient-1", "rita@example.com"


def post(path: str, body: Any, sub: str = RECIPIENT, email: str = RECIPIENT_EMAIL) -> tuple[int, Any]:
    return call("upgrades_api", http_event("POST", path, body=body, claims=claims(sub, email)))


def gifted_pro_seat(quantity: int = 1, unit_amount: int = 24000) -> str:
    """A Pro purchase fulfilled at the clock's now (2026-03-01), seat 0001 accepted by the recipient."""
    purchase_id = paid_purchase(plan="pro", quantity=quantity, unit_amount=unit_amount)
    holder(purchase_id, 1, RECIPIENT, RECIPIENT_EMAIL)
    return purchase_id


def completed_upgrade_event(
    session_form: dict[str, str],
    *,
    subscription: str = "sub_test_upgrade_1",
    customer: str = "cus_test_rita",
    created: int | None = None,
) -> dict[str, Any]:
    session = se.resource("checkout.session")
    metadata = {k[len("metadata[") : -1]: v for k, v in session_form.items() if k.startswith("metadata[")}
    session.update(
        {
            "id": "cs_test_upgrade_done",
            "mode": "subscription",
            "status": "complete",
            "payment_status": "paid",
            "metadata": metadata,
            "subscription": subscription,
            "customer": customer,
            "client_reference_id": session_form.get("client_reference_id"),
        }
    )
    return se.event("checkout.session.completed", session, created)


def subscription_created(
    *, subscription: str = "sub_test_upgrade_1", period_end: int, created: int | None = None
) -> dict[str, Any]:
    sub = se.resource("subscription")
    sub.update(
        {
            "id": subscription,
            "customer": "cus_test_rita",
            "status": "active",
            "cancel_at_period_end": False,
            "metadata": {"account_id": RECIPIENT, "kind": "upgrade"},
        }
    )
    sub["items"]["data"][0]["price"]["id"] = "price_team_yearly"
    sub["items"]["data"][0]["current_period_end"] = period_end
    return se.event("customer.subscription.created", sub, created)


# ---- quote ----------------------------------------------------------------------------------------------


def test_given_pro_seat_bought_for_24000_when_quoted_to_team_100_days_later_then_worked_example(
    clock,
) -> None:
    gifted_pro_seat()
    clock.advance(days=100)

    status, body = post("/me/upgrade/quote", {"plan": "team"})

    assert status == 200
    assert body["plan"] == "team"
    assert body["target_price"] == 48000
    assert (body["remaining_days"], body["term_days"]) == (265, 365)
    assert (body["credit"], body["amount_due"]) == (17425, 30575)
    assert body["currency"] == "usd"
    assert body["quote_expires_at"] == real_clock.iso(clock.now + timedelta(minutes=31))  # minute end + 30


def test_given_pro_seat_when_quoted_to_pro_or_connect_then_409_not_an_upgrade() -> None:
    gifted_pro_seat()
    for plan in ("pro", "connect"):
        status, body = post("/me/upgrade/quote", {"plan": plan})
        assert status == 409
        assert body["error"]["code"] == "not_an_upgrade"
        assert "higher tier" in body["error"]["message"]


def test_given_unknown_plan_when_quoted_then_422() -> None:
    gifted_pro_seat()
    status, body = post("/me/upgrade/quote", {"plan": "platinum"})
    assert status == 422
    assert body["error"]["code"] == "unknown_plan"


def test_given_account_without_gift_when_quoted_then_404_no_gift() -> None:
    status, body = post("/me/upgrade/quote", {"plan": "team"}, sub="nobody")
    assert status == 404
    assert body["error"]["code"] == "no_gift"


def test_given_term_ended_when_quoted_then_409_term_ended(clock) -> None:
    gifted_pro_seat()
    clock.advance(days=366)
    status, body = post("/me/upgrade/quote", {"plan": "team"})
    assert status == 409
    assert body["error"]["code"] == "term_ended"
    assert "nothing left to credit" in body["error"]["message"]


def test_given_no_body_when_quoted_then_400() -> None:
    status, body = call("upgrades_api", http_event("POST", "/me/upgrade/quote", claims=claims(RECIPIENT)))
    assert status == 400
    assert body["error"]["code"] == "body_required"


def test_given_no_identity_when_quoted_then_401() -> None:
    status, _ = call("upgrades_api", http_event("POST", "/me/upgrade/quote", body={"plan": "team"}))
    assert status == 401


# ---- checkout -------------------------------------------------------------------------------------------


def test_given_quote_when_checkout_then_coupon_and_subscription_session_with_idempotency_keys(
    clock, stripe: FakeStripe
) -> None:
    purchase_id = gifted_pro_seat()
    clock.advance(days=100)

    status, body = post("/me/upgrade/checkout", {"plan": "team"})

    assert status == 201
    assert body["url"].startswith("https://checkout.stripe.test/")
    assert body["quote"]["credit"] == 17425
    [coupon] = stripe.to("/v1/coupons")
    assert coupon.form["amount_off"] == "17425"
    assert (coupon.form["duration"], coupon.form["max_redemptions"], coupon.form["currency"]) == (
        "once",
        "1",
        "usd",
    )
    assert coupon.idempotency_key and coupon.idempotency_key.startswith("upgrade-coupon-")
    [session] = stripe.to("/v1/checkout/sessions")
    form = session.form
    assert form["mode"] == "subscription"
    assert form["line_items[0][price]"] == "price_team_yearly"
    assert form["discounts[0][coupon]"] == "coupon_test_0001"
    assert form["metadata[kind]"] == "upgrade"
    assert (form["metadata[purchase_id]"], form["metadata[seat_id]"]) == (purchase_id, "0001")
    assert form["metadata[credit]"] == "17425"
    assert form["subscription_data[metadata][account_id]"] == RECIPIENT
    assert int(form["expires_at"]) >= real_clock.epoch(clock.now) + 30 * 60
    assert session.idempotency_key and session.idempotency_key.startswith("upgrade-session-")


def test_given_checkout_when_repeated_in_window_then_same_keys_and_session_and_next_window_recomputes(
    clock, stripe: FakeStripe
) -> None:
    gifted_pro_seat()
    clock.advance(days=100)
    clock.set(clock.now.replace(hour=12, minute=0, second=5))

    first_status, first = post("/me/upgrade/checkout", {"plan": "team"})
    clock.advance(seconds=40)  # a double click or a retry: Stripe gets the same key and the same parameters
    again_status, again = post("/me/upgrade/checkout", {"plan": "team"})
    clock.advance(minutes=10)
    later_status, later = post("/me/upgrade/checkout", {"plan": "team"})

    assert (first_status, again_status, later_status) == (201, 201, 201), (first, again, later)
    keys = [r.idempotency_key for r in stripe.to("/v1/checkout/sessions")]
    assert keys[0] == keys[1] != keys[2]
    assert first["session_id"] == again["session_id"] != later["session_id"]
    assert first["quote"]["quote_expires_at"] == again["quote"]["quote_expires_at"] == "2026-06-09T12:31:00Z"


def test_given_last_day_of_term_when_checkout_then_no_coupon_and_full_price(
    clock, stripe: FakeStripe
) -> None:
    gifted_pro_seat()
    clock.set(clock.now.replace(year=2027) - timedelta(hours=1))

    status, body = post("/me/upgrade/checkout", {"plan": "team"})

    assert status == 201
    assert (body["quote"]["credit"], body["quote"]["amount_due"]) == (0, 48000)
    assert stripe.to("/v1/coupons") == []
    assert "discounts[0][coupon]" not in stripe.to("/v1/checkout/sessions")[0].form


# ---- completion -----------------------------------------------------------------------------------------


def test_given_upgrade_checkout_when_completed_then_seat_upgraded_and_entitlement_from_subscription(
    clock, stripe: FakeStripe
) -> None:
    purchase_id = gifted_pro_seat(quantity=2)
    clock.advance(days=100)
    post("/me/upgrade/checkout", {"plan": "team"})
    evt = completed_upgrade_event(stripe.to("/v1/checkout/sessions")[0].form)

    status, body = deliver(evt)

    assert status == 200, body
    seat = seats(purchase_id)["0001"]
    assert (seat.state, seat.upgrade_plan, seat.subscription_id) == ("upgraded", "team", "sub_test_upgrade_1")
    assert seat.last_action == "upgrade"
    ent = entitlement(RECIPIENT)
    assert ent is not None
    assert (ent.sub_plan, ent.sub_status, ent.auto_renew, ent.sub_provisional) == (
        "team",
        "active",
        True,
        True,
    )
    assert (ent.source, ent.plan, ent.ended) == ("gift", "pro", True)  # the gift part ends with the upgrade
    purchase = get_store().purchase(purchase_id)
    assert purchase is not None
    counts = purchase.seat_counts.as_dict()
    assert (counts["upgraded"], counts["accepted"], counts["available"]) == (1, 0, 1)
    assert "0001" not in g.live_holders(purchase.purchase_id)
    assert m.CustomerLookup.get(k.customer_pk("cus_test_rita"), "CUSTOMER").sub == RECIPIENT
    assert [e.kind for e in audit_trail(purchase_id)].count("seat.upgraded") == 1


def test_given_upgrade_completed_when_event_replayed_then_nothing_changes(clock, stripe: FakeStripe) -> None:
    purchase_id = gifted_pro_seat()
    clock.advance(days=100)
    post("/me/upgrade/checkout", {"plan": "team"})
    evt = completed_upgrade_event(stripe.to("/v1/checkout/sessions")[0].form)
    deliver(evt)
    version = seats(purchase_id)["0001"].version
    purchase_version = get_store().purchase(purchase_id).version  # type: ignore[union-attr]

    status, body = deliver(evt)

    assert status == 200
    assert "already upgraded" in body["result"]
    assert seats(purchase_id)["0001"].version == version
    assert get_store().purchase(purchase_id).version == purchase_version  # type: ignore[union-attr]
    assert [e.kind for e in audit_trail(purchase_id)].count("seat.upgraded") == 1


def test_given_subscription_created_first_when_checkout_completed_then_real_term_kept_and_seat_upgraded(
    clock, stripe: FakeStripe
) -> None:
    purchase_id = gifted_pro_seat()
    clock.advance(days=100)
    post("/me/upgrade/checkout", {"plan": "team"})
    form = stripe.to("/v1/checkout/sessions")[0].form
    now = real_clock.epoch(clock.now)
    period_end = now + 365 * 86400 + 1234

    first = deliver(subscription_created(period_end=period_end, created=now))
    second = deliver(completed_upgrade_event(form, created=now + 2))

    assert first[0] == second[0] == 200
    ent = entitlement(RECIPIENT)
    assert ent is not None
    assert (ent.sub_status, ent.sub_plan, int(ent.sub_term_end_ts), int(ent.event_ts)) == (
        "active",
        "team",
        period_end,
        now,
    )
    assert seats(purchase_id)["0001"].state == "upgraded"


def test_given_provisional_entitlement_when_subscription_event_arrives_later_then_it_refines_term(
    clock, stripe: FakeStripe
) -> None:
    gifted_pro_seat()
    clock.advance(days=100)
    post("/me/upgrade/checkout", {"plan": "team"})
    form = stripe.to("/v1/checkout/sessions")[0].form
    now = real_clock.epoch(clock.now)
    period_end = now + 365 * 86400 + 99

    deliver(completed_upgrade_event(form, created=now + 5))
    deliver(subscription_created(period_end=period_end, created=now))

    ent = entitlement(RECIPIENT)
    assert ent is not None and int(ent.sub_term_end_ts) == period_end and not ent.sub_provisional


def test_given_revoked_gift_when_upgrade_completes_then_ignored() -> None:
    purchase_id = paid_purchase(quantity=1)
    form = {
        "metadata[kind]": "upgrade",
        "metadata[account_id]": RECIPIENT,
        "metadata[purchase_id]": purchase_id,
        "metadata[seat_id]": "0001",
        "metadata[plan]": "team",
        "client_reference_id": RECIPIENT,
    }

    status, body = deliver(completed_upgrade_event(form))

    assert status == 200
    assert body["result"].startswith("ignored")
    assert seats(purchase_id)["0001"].state == "available"
