"""The signed-in account: its entitlement, and the service's own email verification."""

from __future__ import annotations

from typing import Any

from giftplans import entitlements, verification
from giftplans.http import caller, error_responses, make_app
from giftplans.observability import HTTP_REQUEST_ID, entry
from giftplans.schemas.entitlements import EntitlementOut
from pydantic import BaseModel, ConfigDict, Field

app = make_app()


class VerificationSentOut(BaseModel):
    sent: bool
    email: str


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200, description="The token from the verification link.")


class VerifiedOut(BaseModel):
    verified: bool


class MeOut(BaseModel):
    """The signed-in account; `email_verified`: the identity provider or this service verified it."""

    model_config = ConfigDict(extra="allow")  # more fields may follow (the account's `locale`)

    sub: str
    email: str | None
    email_verified: bool


@app.get(
    "/me",
    tags=["me"],
    summary="Who is signed in, and whether the service treats the address as verified",
    responses=error_responses(401, 503),
)
def me() -> MeOut:
    return MeOut.model_validate(verification.account(caller(app)).as_json())


@app.get(
    "/me/entitlement",
    tags=["me"],
    summary="Which plan this account has, until when, whether it renews",
    responses=error_responses(401, 503),
)
def entitlement() -> EntitlementOut:
    return EntitlementOut.model_validate(entitlements.current(caller(app).sub).as_json())


@app.post(
    "/me/email-verification",
    status_code=202,
    tags=["me"],
    summary="Email a verification link to the signed-in address",
    responses=error_responses(401, 422, 429, 503),
)
def request_verification() -> VerificationSentOut:
    return VerificationSentOut.model_validate(verification.request(caller(app)).as_json())


@app.post(
    "/me/email-verification/confirm",
    tags=["me"],
    summary="Confirm the address with the link's token",
    responses=error_responses(400, 401, 422, 503),
)
def confirm_verification(request: ConfirmIn) -> VerifiedOut:
    return VerifiedOut.model_validate(verification.confirm(caller(app), request.token).as_json())


@entry(correlation_id_path=HTTP_REQUEST_ID)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
