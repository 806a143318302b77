"""POST /checkout/sessions: start a Stripe Checkout for plans "For Others" (SPEC rule 1)."""

from __future__ import annotations

from typing import Annotated, Any

from giftplans.http import Header, caller, error_responses, make_app
from giftplans.observability import HTTP_REQUEST_ID, entry
from giftplans.purchases import checkout
from giftplans.schemas.checkout import CheckoutSessionOut
from giftplans.settings import get as settings
from pydantic import BaseModel, ConfigDict, Field, StrictInt

app = make_app()


class CheckoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan: str = Field(min_length=1, max_length=40, description="connect, pro or team (from configuration).")
    quantity: StrictInt = Field(ge=1, le=settings().max_quantity, description="How many plans to buy.")


@app.post(
    "/checkout/sessions",
    status_code=201,
    summary="Start a Stripe Checkout for plans 'For Others'",
    tags=["checkout"],
    responses=error_responses(400, 401, 422, 429, 503),
)
def create_session(
    request: CheckoutRequest,
    idempotency_key: Annotated[str | None, Header(alias="idempotency-key", max_length=200)] = None,
) -> CheckoutSessionOut:
    buyer = caller(app)
    session = checkout.start_gift_checkout(buyer, request.plan, request.quantity, idempotency_key)
    return CheckoutSessionOut.model_validate(session.as_json())


@entry(correlation_id_path=HTTP_REQUEST_ID)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
