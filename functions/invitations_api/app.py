"""The accept page's API: preview a link, accept it (signed in), decline it (the link is the capability)."""

from __future__ import annotations

from typing import Any

from giftplans import contract as c
from giftplans.http import caller, error_responses, make_app
from giftplans.invitations import link
from giftplans.observability import HTTP_REQUEST_ID, entry
from giftplans.schemas.entitlements import ENTITLEMENT_OUT

app = make_app()

TOKEN_IN = c.model(
    "TokenIn",
    {"token": c.string(min_length=1, max_length=200, description="The token from the invitation link.")},
)

PREVIEW_OUT = c.model(
    "PreviewOut",
    {
        "plan": c.string(),
        "sender": c.string(),
        "term_end": c.string(),
        "state": c.string(),
    },
    {
        "from_name": c.string(nullable=True, description="The sender's chosen name (SPEC 8.4), if any."),
        "from_email": c.string(
            nullable=True, description="The buyer's address, for a holder of a valid link."
        ),
        "message": c.string(
            nullable=True, description="The buyer's personal message, as the invitation email has it."
        ),
    },
)

ACCEPTED_OUT = c.model(
    "AcceptedOut",
    {
        "entitlement": ENTITLEMENT_OUT,
        "credited": c.integer(
            description="Minor units of the gift credited to the account's Stripe balance (SPEC 8.5); "
            "0 when the gift became the account's plan."
        ),
    },
)

DECLINED_OUT = c.model("DeclinedOut", {"declined": c.boolean(), "seat_id": c.string()})


@app.get(
    "/invitations/<token>",
    tags=["invitations"],
    summary="What an invitation link gives, for the accept page",
    responses=error_responses(404, 410, 503),
)
@c.takes(app, path={"token": c.string(max_length=200)}, answers=PREVIEW_OUT)
def preview(token: str) -> dict[str, Any]:
    return link.preview(token).as_json()


@app.post(
    "/invitations/accept",
    tags=["invitations"],
    summary="Accept an invitation with the invited address",
    responses=error_responses(400, 401, 403, 404, 409, 410, 422, 503),
)
@c.takes(app, body=TOKEN_IN, answers=ACCEPTED_OUT)
def accept(body: dict[str, Any]) -> dict[str, Any]:
    return link.accept(body["token"], caller(app)).as_json()


@app.post(
    "/invitations/decline",
    tags=["invitations"],
    summary="Decline an invitation; the buyer is told",
    responses=error_responses(400, 404, 409, 410, 422, 503),
)
@c.takes(app, body=TOKEN_IN, answers=DECLINED_OUT)
def decline(body: dict[str, Any]) -> dict[str, Any]:
    return link.decline(body["token"]).as_json()


@entry(correlation_id_path=HTTP_REQUEST_ID)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
