"""The buyer's seat actions: invite, revoke, resend, claim (SPEC rules 3, 4, 5, 10, 11, 13)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from giftplans import claims
from giftplans.http import APIGatewayHttpRouter, Path, Response, caller, content_types, error_responses
from giftplans.invitations import batches, buyer, schedule, sharing
from giftplans.invitations.addresses import MAX_FROM_NAME, MAX_MESSAGE, MAX_ROWS, Row
from giftplans.schemas.purchases import SeatOut
from giftplans.views import Shared
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

router = APIGatewayHttpRouter()
PurchaseId = Annotated[str, Path(max_length=64)]
SeatId = Annotated[str, Path(max_length=8)]


def documented(**limits: int) -> Callable[[dict[str, Any]], None]:
    """`json_schema_extra` for a field whose real limit is the domain's (`addresses`, `batches`): it
    refuses with a reason per row or its own code, so pydantic checks only a looser bound, and
    the OpenAPI document states the real one (`maxLength`, `minLength`, `maxItems`)."""

    def edit(schema: dict[str, Any]) -> None:
        for branch in schema.get("anyOf", [schema]):  # `str | None`: the string branch
            if branch.get("type") in ("string", "array"):
                branch.update(limits)

    return edit


class InvitationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320, description="The recipient's address.")
    message: str | None = Field(
        default=None,
        max_length=4000,
        json_schema_extra=documented(maxLength=MAX_MESSAGE),
        description="A note shown in the email.",
    )
    from_name: str | None = Field(
        default=None,
        max_length=400,
        json_schema_extra=documented(minLength=1, maxLength=MAX_FROM_NAME),
        description="Who the gift is from, as the email and the accept page show it (1-80 characters).",
    )
    locale: str | None = Field(
        default=None,
        max_length=35,
        description="The recipient's language for the email (en, de; anything else reads English). "
        "Without it, the inviting buyer's.",
    )
    send_at: AwareDatetime | None = Field(
        default=None,
        description="When to email the invitation (ISO-8601 with a time zone; SPEC 8.1): later than now, "
        "before the purchase's term_end, at most 365 days ahead. The seat is reserved at once; the term "
        "runs from the purchase whatever the date. Without it, the email goes now.",
    )


class InviteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invitations: list[InvitationIn] = Field(
        max_length=2000,
        json_schema_extra=documented(minItems=1, maxItems=MAX_ROWS),
        description="1 to 1000 addresses (no more than the seats available), one seat each.",
    )


class SeatsOut(BaseModel):
    seats: list[SeatOut]


class OneSeatOut(BaseModel):
    seat: SeatOut


class ResentSeat(BaseModel):
    seat_id: str
    state: str
    last_sent_at: str


class ResentOut(BaseModel):
    seat: ResentSeat


@router.post(
    "/purchases/<purchase_id>/invitations",
    status_code=201,
    tags=["seats"],
    summary="Invite people by email, one available seat each (all or nothing)",
    description=(
        "Up to 1000 rows, all checked before anything is written (422 with a reason per row). "
        "With an `Idempotency-Key` header, a repeat of the same request answers the same seats and "
        "mails nothing again, and finishes a list that stopped half way; the same key with another "
        "body is a 409 `idempotency_key_reused`."
    ),
    responses=error_responses(400, 401, 403, 404, 409, 410, 422, 429, 503),
)
def invite(purchase_id: PurchaseId, request: InviteRequest) -> SeatsOut:
    rows = [
        Row(r.email, r.message, r.from_name, r.locale, schedule.canonical(r.send_at))
        for r in request.invitations
    ]
    key = batches.check_idempotency_key(router.current_event.headers.get("idempotency-key"))
    seats = buyer.invite(purchase_id, caller(router), rows, idempotency_key=key)
    return SeatsOut.model_validate({"seats": [seat.as_json() for seat in seats]})


@router.post(
    "/purchases/<purchase_id>/seats/<seat_id>/revoke",
    tags=["seats"],
    summary="Take back an invitation that has not been accepted",
    responses=error_responses(401, 404, 409, 410, 503),
)
def revoke(purchase_id: PurchaseId, seat_id: SeatId) -> OneSeatOut:
    seat = buyer.revoke(purchase_id, seat_id, caller(router))
    return OneSeatOut.model_validate({"seat": seat.as_json()})


class SharedOut(BaseModel):
    seat: SeatOut
    url: str = Field(
        description="The single-use accept link. Shown this once: it is never mailed, stored or shown again."
    )


@router.post(
    "/purchases/<purchase_id>/seats/<seat_id>/resend",
    status_code=202,
    tags=["seats"],
    summary="Email a fresh link for an invitation (the old link stops working)",
    description=(
        "202 `{seat}` for an emailed invitation. A seat shared by link (SPEC 8.2) has no address to "
        "mail: it answers 200 `{seat, url}` (`SharedOut`) with a fresh link, and the old link stops working."
    ),
    responses={
        **error_responses(401, 404, 409, 410, 429, 503),
        200: {
            "description": "A shared seat: a fresh link",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SharedOut"}}},
        },
    },
)
def resend(purchase_id: PurchaseId, seat_id: SeatId) -> Response[ResentOut | SharedOut]:
    seat = sharing.resend(purchase_id, seat_id, caller(router))
    if isinstance(seat, Shared):
        return Response(200, content_types.APPLICATION_JSON, SharedOut.model_validate(seat.as_json()))
    return Response(202, content_types.APPLICATION_JSON, ResentOut.model_validate({"seat": seat.as_json()}))


@router.post(
    "/purchases/<purchase_id>/seats/<seat_id>/link",
    status_code=201,
    tags=["seats"],
    summary="Share it yourself: a single-use accept link for an available seat, shown once",
    description=(
        "SPEC 8.2: the seat becomes `invited` with `recipient_email: null` and `shared: true`; nothing "
        "is mailed. Whoever has the link can accept it with any signed-in, verified account (rule 11 "
        "at accept). Asked again for a seat already shared, it makes a fresh link and kills the old. "
        "Counts as an invitation sent (rule 13)."
    ),
    responses=error_responses(401, 403, 404, 409, 410, 429, 503),
)
def share(purchase_id: PurchaseId, seat_id: SeatId) -> SharedOut:
    return SharedOut.model_validate(sharing.share(purchase_id, seat_id, caller(router)).as_json())


@router.post(
    "/purchases/<purchase_id>/claim",
    tags=["seats"],
    summary="Claim one seat for yourself",
    responses=error_responses(401, 403, 404, 409, 410, 503),
)
def claim(purchase_id: PurchaseId) -> OneSeatOut:
    return OneSeatOut.model_validate({"seat": claims.claim(purchase_id, caller(router)).as_json()})
