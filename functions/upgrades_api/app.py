"""POST /me/upgrade/quote and POST /me/upgrade/checkout: a recipient's upgrade (SPEC rule 8).

POST /me/renewal/checkout: a recipient's own subscription when the gift ends (SPEC rule 7).

POST /me/billing-portal: Stripe's customer portal to manage that subscription (SPEC 8.8).

POST /upgrade-offers/checkout: support's upgrade offer, redeemed from its link (no sign-in:
the link is the capability; issue 14): a fresh quote and Checkout Session each time.
"""

from __future__ import annotations

from typing import Any

from giftplans import contract as c
from giftplans import credits, renewals, upgrade_offers, upgrades
from giftplans.http import caller, error_responses, make_app
from giftplans.observability import HTTP_REQUEST_ID, entry

app = make_app()

UPGRADE_REQUEST = c.model(
    "UpgradeRequest",
    {"plan": c.string(min_length=1, max_length=40, description="The higher tier to move to.")},
)

QUOTE_OUT = c.model(
    "QuoteOut",
    {
        "plan": c.string(),
        "target_price": c.integer(),
        "credit": c.integer(),
        "amount_due": c.integer(),
        "currency": c.string(),
        "remaining_days": c.integer(),
        "term_days": c.integer(),
        "quote_expires_at": c.string(),
    },
    extra=True,  # from_plan, term_end, purchase_id, seat_id are answered too
)

UPGRADE_CHECKOUT_OUT = c.model(
    "UpgradeCheckoutOut", {"session_id": c.string(), "url": c.string(), "quote": QUOTE_OUT}
)


@app.post(
    "/me/upgrade/quote",
    summary="What an upgrade costs after the gift's credit",
    tags=["upgrades"],
    responses=error_responses(400, 401, 404, 409, 422, 503),
)
@c.takes(app, body=UPGRADE_REQUEST, answers=QUOTE_OUT)
def quote(body: dict[str, Any]) -> dict[str, Any]:
    me = caller(app)
    return upgrades.quote_for(me.sub, body["plan"]).as_json()


@app.post(
    "/me/upgrade/checkout",
    status_code=201,
    summary="A Stripe Checkout that charges the upgrade",
    tags=["upgrades"],
    responses=error_responses(400, 401, 404, 409, 422, 503),
)
@c.takes(app, body=UPGRADE_REQUEST, answers=UPGRADE_CHECKOUT_OUT)
def checkout(body: dict[str, Any]) -> dict[str, Any]:
    me = caller(app)
    return upgrades.checkout_for(me.sub, me.email, body["plan"]).as_json()


RENEWAL_REQUEST = c.model(
    "RenewalRequest",
    {
        "plan": c.string(
            min_length=1, max_length=40, description="The plan to renew at: the same tier or another."
        )
    },
)

RENEWAL_CHECKOUT_OUT = c.model(
    "RenewalCheckoutOut",
    {
        "session_id": c.string(),
        "url": c.string(),
        "plan": c.string(),
        "starts_billing_at": c.string(description="When the first payment is taken: the gift's end, or now."),
    },
    {"note": c.string(nullable=True, description="Why billing starts now, when the gift ends within 48 h.")},
)


@app.post(
    "/me/renewal/checkout",
    status_code=201,
    summary="A Stripe Checkout for a subscription that starts billing when the gift ends",
    tags=["upgrades"],
    responses=error_responses(400, 401, 404, 409, 422, 503),
)
@c.takes(app, body=RENEWAL_REQUEST, answers=RENEWAL_CHECKOUT_OUT)
def renewal_checkout(body: dict[str, Any]) -> dict[str, Any]:
    me = caller(app)
    return renewals.renewal_checkout(me.sub, me.email, body["plan"]).as_json()


PORTAL_OUT = c.model(
    "PortalOut", {"url": c.string(description="Stripe's customer portal: cancel, payment method, invoices.")}
)


@app.post(
    "/me/billing-portal",
    summary="Stripe's customer portal for the account's subscription (SPEC 8.8)",
    tags=["upgrades"],
    responses=error_responses(401, 404, 503),
)
@c.takes(app, answers=PORTAL_OUT)
def billing_portal() -> dict[str, Any]:
    return {"url": credits.billing_portal(caller(app).sub)}


OFFER_REQUEST = c.model(
    "OfferRequest",
    {"offer": c.string(min_length=1, max_length=200, description="The `offer` of the emailed link.")},
)


@app.post(
    "/upgrade-offers/checkout",
    status_code=201,
    summary="Redeem support's upgrade offer: a fresh quote and Stripe Checkout (valid 7 days)",
    tags=["upgrades"],
    responses=error_responses(400, 404, 409, 410, 422, 503),
)
@c.takes(app, body=OFFER_REQUEST, answers=UPGRADE_CHECKOUT_OUT)
def offer_checkout(body: dict[str, Any]) -> dict[str, Any]:
    return upgrade_offers.redeem(body["offer"]).as_json()


@entry(correlation_id_path=HTTP_REQUEST_ID)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
