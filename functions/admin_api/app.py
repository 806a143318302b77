"""The support team's API under /admin (AWS_IAM): find, read, resend, cancel, carry out an upgrade;
what is kept about a person, and its erasure (docs/privacy.md).

Every route first asks `support_identity`: a caller without an IAM identity (the web
client's JWT) gets 403 `support_only`. Actions are audited as `support:<IAM ARN>`.
"""

from __future__ import annotations

import json
from typing import Any

from giftplans import admin, audit, privacy
from giftplans import contract as c
from giftplans.errors import BadRequest
from giftplans.http import error_responses, make_app, support_identity
from giftplans.observability import HTTP_REQUEST_ID, entry
from giftplans.purchases import attention

app = make_app()
PURCHASE_ID = c.string(max_length=64)
SEAT_ID = c.string(pattern=r"^\d{4}$")
ANY_ANSWER = c.anything()

# The cancel's optional body, `{"refund": bool}` (SPEC 8.7), read by `_refund` below: a contract
# body is required, and refusing it would be 400 body_required / 422 invalid_field, where this
# route has always taken no body, and answered a wrong one with 400 bad_request.
CANCEL_BODY = 'The body is optional; when sent it is {"refund": true} or {"refund": false}.'

UPGRADE_OFFER_REQUEST = c.model(
    "UpgradeOfferRequest",
    {
        "purchase_id": c.string(min_length=1, max_length=64),
        "seat_id": c.string(pattern=r"^\d{4}$"),
        "plan": c.string(min_length=1, max_length=40),
    },
)

UPGRADE_OFFER_OUT = c.model(
    "UpgradeOfferOut",
    {
        "seat": c.anything("The seat as it now stands (support's view)."),
        "quote": c.anything("Rule 8's numbers as of now; each click quotes again."),
        "offer_url": c.string(description="The link mailed to the recipient: <WebBaseUrl>/upgrade?offer=..."),
        "offer_until": c.string(description="When the link stops working: 7 days on, or the term's end."),
    },
    description=(
        "What support's upgrade offer answers (issue 14): nothing is charged until the recipient clicks."
    ),
)


@app.get(
    "/admin/purchases",
    summary="Purchases by buyer email, or seats by recipient email",
    tags=["admin"],
    responses=error_responses(403, 422, 503),
)
@c.takes(
    app,
    query={
        "buyer_email": c.string(max_length=320, nullable=True),
        "recipient_email": c.string(max_length=320, nullable=True),
    },
    answers=ANY_ANSWER,
)
def find_purchases(buyer_email: str | None, recipient_email: str | None) -> dict[str, Any]:
    support_identity(app)
    return admin.find(buyer_email, recipient_email).as_json()


@app.get(
    "/admin/purchases/<purchase_id>",
    summary="A purchase and its seats",
    tags=["admin"],
    responses=error_responses(403, 404, 503),
)
@c.takes(app, path={"purchase_id": PURCHASE_ID}, answers=ANY_ANSWER)
def get_purchase(purchase_id: str) -> dict[str, Any]:
    support_identity(app)
    return admin.detail(purchase_id).as_json()


@app.get(
    "/admin/purchases/<purchase_id>/events",
    summary="A purchase's audit trail",
    tags=["admin"],
    responses=error_responses(403, 404, 503),
)
@c.takes(app, path={"purchase_id": PURCHASE_ID}, answers=ANY_ANSWER)
def get_events(purchase_id: str) -> dict[str, Any]:
    support_identity(app)
    return admin.events(purchase_id).as_json()


@app.post(
    "/admin/purchases/<purchase_id>/seats/<seat_id>/resend",
    status_code=202,
    summary="Resend an invitation (a fresh link)",
    tags=["admin"],
    responses=error_responses(403, 404, 409, 429, 503),
)
@c.takes(app, path={"purchase_id": PURCHASE_ID, "seat_id": SEAT_ID}, answers=ANY_ANSWER)
def resend(purchase_id: str, seat_id: str) -> dict[str, Any]:
    return admin.resend(purchase_id, seat_id, support_identity(app)).as_json()


@app.post(
    "/admin/purchases/<purchase_id>/seats/<seat_id>/cancel",
    summary="Cancel a seat never accepted",
    tags=["admin"],
    responses=error_responses(403, 404, 409, 503),
)
@c.takes(app, path={"purchase_id": PURCHASE_ID, "seat_id": SEAT_ID}, answers=ANY_ANSWER)
def cancel(purchase_id: str, seat_id: str) -> dict[str, Any]:
    arn = support_identity(app)
    refund = _refund(app.current_event.body)  # optional: `{"refund": true}` (SPEC 8.7)
    return admin.cancel_seat(purchase_id, seat_id, arn, refund=refund).as_json()


def _refund(text: str | None) -> bool:
    """The cancel body's `refund`: False without a body (or a blank one); else the body must be a
    JSON object with no field but `refund`, true or false, or it is 400 bad_request. Strict: a
    refund moves money, so `"yes"` or `1` is refused rather than guessed at."""
    if not text or not text.strip():
        return False
    try:
        sent = json.loads(text)
    except (ValueError, RecursionError) as error:  # not JSON, or JSON Python cannot read
        raise BadRequest(CANCEL_BODY) from error
    if not isinstance(sent, dict) or any(name != "refund" for name in sent):
        raise BadRequest(CANCEL_BODY)
    value = sent.get("refund", False)
    if not isinstance(value, bool):
        raise BadRequest(CANCEL_BODY)
    return value


@app.post(
    "/admin/upgrades",
    status_code=201,
    summary="Offer a recipient an upgrade: a link valid 7 days, mailed to them",
    tags=["admin"],
    responses=error_responses(400, 403, 404, 409, 422, 503),
)
@c.takes(app, body=UPGRADE_OFFER_REQUEST, answers=UPGRADE_OFFER_OUT)
def upgrade(body: dict[str, Any]) -> dict[str, Any]:
    """Quoted now; the recipient is mailed `offer_url`, usable until `offer_until` (7 days at most):
    each click quotes afresh and opens a new Stripe Checkout (`POST /upgrade-offers/checkout`)."""
    arn = support_identity(app)
    return admin.offer_upgrade(body["purchase_id"], body["seat_id"], body["plan"], arn)


ERASE_REQUEST = c.model("EraseRequest", {"email": c.string(min_length=3, max_length=320)})


@app.get(
    "/admin/people",
    summary="Everything kept about an email address",
    tags=["admin"],
    responses=error_responses(403, 422, 503),
)
@c.takes(app, query={"email": c.string(max_length=320)}, answers=ANY_ANSWER)
def find_person(email: str) -> dict[str, Any]:
    support_identity(app)
    return privacy.kept(email).as_json()


@app.post(
    "/admin/people/erase",
    summary="Erase an email address from everything kept (idempotent)",
    tags=["admin"],
    responses=error_responses(400, 403, 422, 503),
)
@c.takes(app, body=ERASE_REQUEST, answers=ANY_ANSWER)
def erase_person(body: dict[str, Any]) -> dict[str, Any]:
    arn = support_identity(app)
    return privacy.erase(body["email"], audit.support(arn)).as_json()


@app.get(
    "/admin/attention",
    summary="Paid checkouts that need attention (could not be fulfilled)",
    tags=["admin"],
    responses=error_responses(403, 503),
)
@c.takes(app, answers=ANY_ANSWER)
def needs_attention() -> dict[str, Any]:
    support_identity(app)
    return {"items": attention.open_items()}


@entry(correlation_id_path=HTTP_REQUEST_ID)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
