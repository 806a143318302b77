"""POST /me/upgrade/quote and POST /me/upgrade/checkout: a recipient's upgrade (SPEC rule 8).

POST /me/renewal/checkout: a recipient's own subscription when the gift ends (SPEC rule 7).

POST /me/billing-portal: Stripe's customer portal to manage that subscription (SPEC 8.8).

POST /upgrade-offers/checkout: support's upgrade offer, redeemed from its link (no sign-in:
the link is the capability; issue 14): a fresh quote and Checkout Session each time.
"""

from __future__ import annotations

from typing import Any

from giftplans import credits, renewals, upgrade_offers, upgrades
from giftplans.http import caller, error_responses, make_app
from giftplans.observability import HTTP_REQUEST_ID, entry
from pydantic import BaseModel, ConfigDict, Field

app = make_app()


class UpgradeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan: str = Field(min_length=1, max_length=40, description="The higher tier to move to.")


class QuoteOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    plan: str
    target_price: int
    credit: int
    amount_due: int
    currency: str
    remaining_days: int
    term_days: int
    quote_expires_at: str


class UpgradeCheckoutOut(BaseModel):
    session_id: str
    url: str
    quote: QuoteOut


@app.post(
    "/me/upgrade/quote",
    summary="What an upgrade costs after the gift's credit",
    tags=["upgrades"],
    responses=error_responses(400, 401, 404, 409, 422, 503),
)
def quote(request: UpgradeRequest) -> QuoteOut:
    me = caller(app)
    return QuoteOut.model_validate(upgrades.quote_for(me.sub, request.plan).as_json())


@app.post(
    "/me/upgrade/checkout",
    status_code=201,
    summary="A Stripe Checkout that charges the upgrade",
    tags=["upgrades"],
    responses=error_responses(400, 401, 404, 409, 422, 503),
)
def checkout(request: UpgradeRequest) -> UpgradeCheckoutOut:
    me = caller(app)
    return UpgradeCheckoutOut.model_validate(upgrades.checkout_for(me.sub, me.email, request.plan).as_json())


class RenewalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan: str = Field(
        min_length=1, max_length=40, description="The plan to renew at: the same tier or another."
    )


class RenewalCheckoutOut(BaseModel):
    session_id: str
    url: str
    plan: str
    starts_billing_at: str = Field(description="When the first payment is taken: the gift's end, or now.")
    note: str | None = Field(
        default=None, description="Why billing starts now, when the gift ends within 48 h."
    )


@app.post(
    "/me/renewal/checkout",
    status_code=201,
    summary="A Stripe Checkout for a subscription that starts billing when the gift ends",
    tags=["upgrades"],
    responses=error_responses(400, 401, 404, 409, 422, 503),
)
def renewal_checkout(request: RenewalRequest) -> RenewalCheckoutOut:
    me = caller(app)
    return RenewalCheckoutOut.model_validate(
        renewals.renewal_checkout(me.sub, me.email, request.plan).as_json()
    )


class PortalOut(BaseModel):
    url: str = Field(description="Stripe's customer portal: cancel, payment method, invoices.")


@app.post(
    "/me/billing-portal",
    summary="Stripe's customer portal for the account's subscription (SPEC 8.8)",
    tags=["upgrades"],
    responses=error_responses(401, 404, 503),
)
def billing_portal() -> PortalOut:
    return PortalOut(url=credits.billing_portal(caller(app).sub))


class OfferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offer: str = Field(min_length=1, max_length=200, description="The `offer` of the emailed link.")


@app.post(
    "/upgrade-offers/checkout",
    status_code=201,
    summary="Redeem support's upgrade offer: a fresh quote and Stripe Checkout (valid 7 days)",
    tags=["upgrades"],
    responses=error_responses(400, 404, 409, 410, 422, 503),
)
def offer_checkout(request: OfferRequest) -> UpgradeCheckoutOut:
    return UpgradeCheckoutOut.model_validate(upgrade_offers.redeem(request.offer).as_json())


@entry(correlation_id_path=HTTP_REQUEST_ID)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
