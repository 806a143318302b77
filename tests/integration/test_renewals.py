"""Rule 7 through the HTTP route and the webhook: a recipient renews a gift at a plan of their own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from giftplans import clock as real_clock
from giftplans.store import keys as k
from giftplans.store import models as m

from tests.support import stripe_events as se
from tests.support.apigw import call, claims, http_event
from tests.support.factories import paid_purchase
from tests.support.stripe_fake import FakeStripe
from tests.support.upgrade_steps import audit_trail, deliver, holder

pytestmark = pytest.mark.usefixtures("aws", "clock")

RECIPIENT, RECIPIENT_EMAIL = "recipient-1", "rita@example.com"


def renew(plan: str = "pro", sub: str = RECIPIENT) -> tuple[int, Any]:
    event = http_event(
        "POST", "/me/renewal/checkout", body={"plan": plan}, claims=claims(sub, RECIPIENT_EMAIL)
    )
    return call("upgrades_api", event)


def gifted_pro_seat() -> tuple[str, m.Seat]:
    """A Pro purchase fulfilled at the clock's now (2026-03-01), seat 0001 accepted by the recipient."""
    purchase_id = paid_purchase(plan="pro", quantity=1)
    return purchase_id, holder(purchase_id, 1, RECIPIENT, RECIPIENT_EMAIL)


def completed_renewal(form: dict[str, str], *, session_id: str = "cs_test_renewal_done") -> dict[str, Any]:
    session = se.resource("checkout.session")
    metadata = {k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")}
    session.update(
        {
            "id": session_id,
            "mode": "subscription",
            "status": "complete",
            "payment_status": "no_payment_required",
            "metadata": metadata,
            "subscription": "sub_test_renewal_1",
            "customer": "cus_test_rita",
            "client_reference_id": form.get("client_reference_id"),
        }
    )
    return se.event("checkout.session.completed", session)


def test_given_active_gift_when_renewed_at_same_tier_then_subscription_session_trials_until_term_end(
    clock, stripe: FakeStripe
) -> None:
    purchase_id, seat = gifted_pro_seat()
    clock.advance(days=300)

    status, body = renew("pro")

    assert status == 201, body
    assert body["plan"] == "pro"
    assert body["starts_billing_at"] == seat.term_end
    assert body.get("note") is None
    [session] = stripe.to("/v1/checkout/sessions")
    form = session.form
    assert form["mode"] == "subscription"
    assert form["line_items[0][price]"] == "price_pro_yearly"
    assert not any(k.startswith("discounts") for k in form)
    assert int(form["subscription_data[trial_end]"]) == seat.term_end_ts
    assert form["subscription_data[metadata][account_id]"] == RECIPIENT
    assert (form["metadata[kind]"], form["metadata[account_id]"], form["metadata[plan]"]) == (
        "renewal",
        RECIPIENT,
        "pro",
    )
    assert (form["metadata[purchase_id]"], form["metadata[seat_id]"]) == (purchase_id, "0001")
    assert body["session_id"] and body["url"].startswith("https://checkout.stripe.test/")


def test_given_renewal_when_repeated_in_the_minute_then_same_key_and_session_and_next_minute_new_key(
    clock, stripe: FakeStripe
) -> None:
    gifted_pro_seat()
    clock.set(clock.now.replace(hour=12, minute=0, second=5))

    first = renew("team")
    clock.advance(seconds=40)
    again = renew("team")
    clock.advance(minutes=1)
    later = renew("team")

    assert [s for s, _ in (first, again, later)] == [201, 201, 201]
    keys = [r.idempotency_key for r in stripe.to("/v1/checkout/sessions")]
    assert keys[0] and keys[0].startswith("renewal-")
    assert keys[0] == keys[1] != keys[2]
    assert first[1]["session_id"] == again[1]["session_id"] != later[1]["session_id"]
    assert stripe.to("/v1/checkout/sessions")[0].form["line_items[0][price]"] == "price_team_yearly"


def test_given_term_ending_within_48_hours_when_renewed_then_no_trial_and_billing_starts_now(
    clock, stripe: FakeStripe
) -> None:
    _, seat = gifted_pro_seat()
    clock.set(real_clock.parse_iso(seat.term_end) - timedelta(hours=47))

    status, body = renew("pro")

    assert status == 201, body
    [session] = stripe.to("/v1/checkout/sessions")
    assert "subscription_data[trial_end]" not in session.form
    assert body["starts_billing_at"] == real_clock.iso(clock.now)
    assert "48 hours" in body["note"]


def test_given_gift_ended_20_days_ago_when_renewed_then_billing_starts_now(clock, stripe: FakeStripe) -> None:
    _, seat = gifted_pro_seat()
    clock.set(real_clock.parse_iso(seat.term_end) + timedelta(days=20))

    status, body = renew("pro")

    assert status == 201, body
    assert "subscription_data[trial_end]" not in stripe.to("/v1/checkout/sessions")[0].form
    assert body.get("note") is None


def test_given_gift_ended_more_than_30_days_ago_when_renewed_then_404_pointing_to_plans(
    clock, stripe: FakeStripe
) -> None:
    _, seat = gifted_pro_seat()
    clock.set(real_clock.parse_iso(seat.term_end) + timedelta(days=31))

    status, body = renew("pro")

    assert status == 404
    assert body["error"]["code"] == "gift_ended"
    assert "plans page" in body["error"]["message"]
    assert stripe.to("/v1/checkout/sessions") == []


def test_given_no_gift_when_renewed_then_404_no_gift(stripe: FakeStripe) -> None:
    status, body = renew("pro", sub="nobody")
    assert status == 404
    assert body["error"]["code"] == "no_gift"
    assert stripe.to("/v1/checkout/sessions") == []


def test_given_unknown_plan_when_renewed_then_422(stripe: FakeStripe) -> None:
    gifted_pro_seat()
    status, body = renew("platinum")
    assert status == 422
    assert body["error"]["code"] == "unknown_plan"


def test_given_renewal_completed_when_event_replayed_then_one_audit_event_and_customer_lookup(
    stripe: FakeStripe,
) -> None:
    purchase_id, _ = gifted_pro_seat()
    renew("pro")
    [session] = stripe.to("/v1/checkout/sessions")
    evt = completed_renewal(session.form)
    before = len(audit_trail(purchase_id))

    first = deliver(evt)
    again = deliver(evt)

    assert first[0] == again[0] == 200, (first, again)
    renewed = [e for e in audit_trail(purchase_id) if e.kind == "seat.renewed"]
    assert len(renewed) == 1 and len(audit_trail(purchase_id)) == before + 1
    assert renewed[0].seat_ids == ["0001"]
    assert m.CustomerLookup.get(k.customer_pk("cus_test_rita"), "CUSTOMER").sub == RECIPIENT
