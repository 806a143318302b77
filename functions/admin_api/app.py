"""The support team's API under /admin (AWS_IAM): find, read, resend, cancel, carry out an upgrade;
what is kept about a person, and its erasure (docs/privacy.md).

Every route first asks `support_identity`: a caller without an IAM identity (the web
client's JWT) gets 403 `support_only`. Actions are audited as `support:<IAM ARN>`.
"""

from __future__ import annotations

from typing import Annotated, Any

from giftplans import admin, audit, privacy
from giftplans.errors import BadRequest
from giftplans.http import Path, Query, error_responses, make_app, support_identity
from giftplans.observability import HTTP_REQUEST_ID, entry
from giftplans.purchases import attention
from pydantic import BaseModel, ConfigDict, Field

app = make_app()
PURCHASE_ID = Annotated[str, Path(max_length=64)]
SEAT_ID = Annotated[str, Path(pattern=r"^\d{4}$")]


class CancelRequest(BaseModel):
    """The cancel's optional body: `refund` asks Stripe to refund the seat's value (SPEC 8.7)."""

    model_config = ConfigDict(extra="forbid")

    refund: bool = False


class UpgradeOfferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purchase_id: str = Field(min_length=1, max_length=64)
    seat_id: str = Field(pattern=r"^\d{4}$")
    plan: str = Field(min_length=1, max_length=40)


class UpgradeOfferOut(BaseModel):
    """What support's upgrade offer answers (issue 14): nothing is charged until the recipient clicks."""

    seat: dict[str, Any] = Field(description="The seat as it now stands (support's view).")
    quote: dict[str, Any] = Field(description="Rule 8's numbers as of now; each click quotes again.")
    offer_url: str = Field(description="The link mailed to the recipient: <WebBaseUrl>/upgrade?offer=...")
    offer_until: str = Field(description="When the link stops working: 7 days on, or the term's end.")


@app.get(
    "/admin/purchases",
    summary="Purchases by buyer email, or seats by recipient email",
    tags=["admin"],
    responses=error_responses(403, 422, 503),
)
def find_purchases(
    buyer_email: Annotated[str | None, Query(max_length=320)] = None,
    recipient_email: Annotated[str | None, Query(max_length=320)] = None,
) -> dict[str, Any]:
    support_identity(app)
    return admin.find(buyer_email, recipient_email).as_json()


@app.get(
    "/admin/purchases/<purchase_id>",
    summary="A purchase and its seats",
    tags=["admin"],
    responses=error_responses(403, 404, 503),
)
def get_purchase(purchase_id: PURCHASE_ID) -> dict[str, Any]:
    support_identity(app)
    return admin.detail(purchase_id).as_json()


@app.get(
    "/admin/purchases/<purchase_id>/events",
    summary="A purchase's audit trail",
    tags=["admin"],
    responses=error_responses(403, 404, 503),
)
def get_events(purchase_id: PURCHASE_ID) -> dict[str, Any]:
    support_identity(app)
    return admin.events(purchase_id).as_json()


@app.post(
    "/admin/purchases/<purchase_id>/seats/<seat_id>/resend",
    status_code=202,
    summary="Resend an invitation (a fresh link)",
    tags=["admin"],
    responses=error_responses(403, 404, 409, 429, 503),
)
def resend(purchase_id: PURCHASE_ID, seat_id: SEAT_ID) -> dict[str, Any]:
    return admin.resend(purchase_id, seat_id, support_identity(app)).as_json()


@app.post(
    "/admin/purchases/<purchase_id>/seats/<seat_id>/cancel",
    summary="Cancel a seat never accepted",
    tags=["admin"],
    responses=error_responses(403, 404, 409, 503),
)
def cancel(purchase_id: PURCHASE_ID, seat_id: SEAT_ID) -> dict[str, Any]:
    arn = support_identity(app)
    body = app.current_event.body  # optional: `{"refund": true}` (SPEC 8.7)
    try:
        refund = CancelRequest.model_validate_json(body).refund if body and body.strip() else False
    except ValueError as error:  # pydantic's ValidationError: a body that is not {"refund": bool}
        raise BadRequest(
            'The body is optional; when sent it is {"refund": true} or {"refund": false}.'
        ) from error
    return admin.cancel_seat(purchase_id, seat_id, arn, refund=refund).as_json()


@app.post(
    "/admin/upgrades",
    status_code=201,
    summary="Offer a recipient an upgrade: a link valid 7 days, mailed to them",
    tags=["admin"],
    responses=error_responses(400, 403, 404, 409, 422, 503),
)
def upgrade(request: UpgradeOfferRequest) -> UpgradeOfferOut:
    """Quoted now; the recipient is mailed `offer_url`, usable until `offer_until` (7 days at most):
    each click quotes afresh and opens a new Stripe Checkout (`POST /upgrade-offers/checkout`)."""
    arn = support_identity(app)
    return UpgradeOfferOut.model_validate(
        admin.offer_upgrade(request.purchase_id, request.seat_id, request.plan, arn)
    )


class EraseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)


@app.get(
    "/admin/people",
    summary="Everything kept about an email address",
    tags=["admin"],
    responses=error_responses(403, 422, 503),
)
def find_person(email: Annotated[str, Query(max_length=320)]) -> dict[str, Any]:
    support_identity(app)
    return privacy.kept(email).as_json()


@app.post(
    "/admin/people/erase",
    summary="Erase an email address from everything kept (idempotent)",
    tags=["admin"],
    responses=error_responses(400, 403, 422, 503),
)
def erase_person(request: EraseRequest) -> dict[str, Any]:
    arn = support_identity(app)
    return privacy.erase(request.email, audit.support(arn)).as_json()


@app.get(
    "/admin/attention",
    summary="Paid checkouts that need attention (could not be fulfilled)",
    tags=["admin"],
    responses=error_responses(403, 503),
)
def needs_attention() -> dict[str, Any]:
    support_identity(app)
    return {"items": attention.open_items()}


@entry(correlation_id_path=HTTP_REQUEST_ID)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
