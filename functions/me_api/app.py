"""The signed-in account: its entitlement, and the service's own email verification."""

from __future__ import annotations

from typing import Any

from giftplans import contract as c
from giftplans import entitlements, verification
from giftplans.http import caller, error_responses, make_app
from giftplans.observability import HTTP_REQUEST_ID, entry
from giftplans.schemas.entitlements import ENTITLEMENT_OUT

app = make_app()

VERIFICATION_SENT_OUT = c.model("VerificationSentOut", {"sent": c.boolean(), "email": c.string()})

CONFIRM_IN = c.model(
    "ConfirmIn",
    {"token": c.string(min_length=1, max_length=200, description="The token from the verification link.")},
)

VERIFIED_OUT = c.model("VerifiedOut", {"verified": c.boolean()})

ME_OUT = c.model(
    "MeOut",
    {"sub": c.string(), "email": c.string(nullable=True), "email_verified": c.boolean()},
    extra=True,  # more fields may follow (the account's `locale`)
    description="The signed-in account; `email_verified`: the identity provider or this service verified it.",
)


@app.get(
    "/me",
    tags=["me"],
    summary="Who is signed in, and whether the service treats the address as verified",
    responses=error_responses(401, 503),
)
@c.takes(app, answers=ME_OUT)
def me() -> dict[str, Any]:
    return verification.account(caller(app)).as_json()


@app.get(
    "/me/entitlement",
    tags=["me"],
    summary="Which plan this account has, until when, whether it renews",
    responses=error_responses(401, 503),
)
@c.takes(app, answers=ENTITLEMENT_OUT)
def entitlement() -> dict[str, Any]:
    return entitlements.current(caller(app).sub).as_json()


@app.post(
    "/me/email-verification",
    status_code=202,
    tags=["me"],
    summary="Email a verification link to the signed-in address",
    responses=error_responses(401, 422, 429, 503),
)
@c.takes(app, answers=VERIFICATION_SENT_OUT)
def request_verification() -> dict[str, Any]:
    return verification.request(caller(app)).as_json()


@app.post(
    "/me/email-verification/confirm",
    tags=["me"],
    summary="Confirm the address with the link's token",
    responses=error_responses(400, 401, 422, 503),
)
@c.takes(app, body=CONFIRM_IN, answers=VERIFIED_OUT)
def confirm_verification(body: dict[str, Any]) -> dict[str, Any]:
    return verification.confirm(caller(app), body["token"]).as_json()


@entry(correlation_id_path=HTTP_REQUEST_ID)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
