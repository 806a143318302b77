"""The accept page's API: preview a link, accept it (signed in), decline it (the link is the capability)."""

from __future__ import annotations

from typing import Annotated, Any

from giftplans.http import Path, caller, error_responses, make_app
from giftplans.invitations import link
from giftplans.observability import HTTP_REQUEST_ID, entry
from giftplans.schemas.entitlements import EntitlementOut
from pydantic import BaseModel, ConfigDict, Field

app = make_app()


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200, description="The token from the invitation link.")


class PreviewOut(BaseModel):
    plan: str
    sender: str
    term_end: str
    state: str
    from_name: str | None = Field(default=None, description="The sender's chosen name (SPEC 8.4), if any.")
    from_email: str | None = Field(
        default=None, description="The buyer's address, for a holder of a valid link."
    )
    message: str | None = Field(
        default=None, description="The buyer's personal message, as the invitation email has it."
    )


class AcceptedOut(BaseModel):
    entitlement: EntitlementOut
    credited: int = Field(
        description="Minor units of the gift credited to the account's Stripe balance (SPEC 8.5); "
        "0 when the gift became the account's plan."
    )


class DeclinedOut(BaseModel):
    declined: bool
    seat_id: str


@app.get(
    "/invitations/<token>",
    tags=["invitations"],
    summary="What an invitation link gives, for the accept page",
    responses=error_responses(404, 410, 503),
)
def preview(token: Annotated[str, Path(max_length=200)]) -> PreviewOut:
    return PreviewOut.model_validate(link.preview(token).as_json())


@app.post(
    "/invitations/accept",
    tags=["invitations"],
    summary="Accept an invitation with the invited address",
    responses=error_responses(400, 401, 403, 404, 409, 410, 422, 503),
)
def accept(request: TokenIn) -> AcceptedOut:
    return AcceptedOut.model_validate(link.accept(request.token, caller(app)).as_json())


@app.post(
    "/invitations/decline",
    tags=["invitations"],
    summary="Decline an invitation; the buyer is told",
    responses=error_responses(400, 404, 409, 410, 422, 503),
)
def decline(request: TokenIn) -> DeclinedOut:
    return DeclinedOut.model_validate(link.decline(request.token).as_json())


@entry(correlation_id_path=HTTP_REQUEST_ID)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
