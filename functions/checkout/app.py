"""POST /checkout/sessions: start a Stripe Checkout for plans "For Others" (SPEC rule 1)."""

from __future__ import annotations

from typing import Any

from giftplans import contract as c
from giftplans.http import caller, error_responses, make_app
from giftplans.observability import HTTP_REQUEST_ID, entry
from giftplans.purchases import checkout
from giftplans.schemas.checkout import CHECKOUT_SESSION_OUT
from giftplans.settings import get as settings

app = make_app()

CHECKOUT_REQUEST = c.model(
    "CheckoutRequest",
    {
        "plan": c.string(
            min_length=1, max_length=40, description="connect, pro or team (from configuration)."
        ),
        "quantity": c.integer(
            minimum=1, maximum=settings().max_quantity, description="How many plans to buy."
        ),
    },
)


@app.post(
    "/checkout/sessions",
    status_code=201,
    summary="Start a Stripe Checkout for plans 'For Others'",
    tags=["checkout"],
    responses=error_responses(400, 401, 422, 429, 503),
)
@c.takes(
    app,
    body=CHECKOUT_REQUEST,
    headers={"idempotency-key": c.string(max_length=200, nullable=True)},
    answers=CHECKOUT_SESSION_OUT,
)
def create_session(body: dict[str, Any], idempotency_key: str | None) -> dict[str, Any]:
    buyer = caller(app)
    session = checkout.start_gift_checkout(buyer, body["plan"], body["quantity"], idempotency_key)
    return session.as_json()


@entry(correlation_id_path=HTTP_REQUEST_ID)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
