"""SPEC 8.8: `POST /me/billing-portal` answers Stripe's customer portal for the account's customer."""

from __future__ import annotations

from typing import Any

import pytest
from giftplans import clock as real_clock
from giftplans import webhooks

from tests.integration.test_subscriptions import sub_event
from tests.support.apigw import call, claims, http_event
from tests.support.stripe_fake import FakeStripe

pytestmark = pytest.mark.usefixtures("aws", "clock")


def portal(sub: str = "ann-sub") -> tuple[int, Any]:
    return call(
        "upgrades_api", http_event("POST", "/me/billing-portal", claims=claims(sub, "ann@example.com"))
    )


def test_given_a_subscription_when_portal_asked_then_url_for_its_customer_returning_to_my_plan(
    stripe: FakeStripe,
) -> None:
    customer = stripe.stripe.create_customer({"email": "ann@example.com"})
    event = sub_event("created", created=real_clock.epoch(real_clock.now()))
    event["data"]["object"]["customer"] = customer["id"]
    webhooks.handle(event)

    status, body = portal()

    assert status == 200, body
    [request] = stripe.to("/v1/billing_portal/sessions")
    assert request.form["customer"] == customer["id"]
    assert request.form["return_url"].endswith("/plan")
    [session] = stripe.stripe.all("billing_portal.session")
    assert body == {"url": session["url"]}


def test_given_no_customer_when_portal_asked_then_404_with_a_sentence_and_no_stripe_call(
    stripe: FakeStripe,
) -> None:
    status, body = portal("nobody")

    assert (status, body["error"]["code"]) == (404, "no_billing_account")
    assert body["error"]["message"].endswith(".")
    assert stripe.requests == []


def test_given_no_identity_when_portal_asked_then_401(stripe: FakeStripe) -> None:
    status, _ = call("upgrades_api", http_event("POST", "/me/billing-portal"))
    assert status == 401
