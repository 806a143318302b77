"""The buyer's seat actions: invite, revoke, resend, claim (SPEC rules 3, 4, 5, 10, 11, 13)."""

from __future__ import annotations

from typing import Any

from giftplans import claims
from giftplans import contract as c
from giftplans.http import APIGatewayHttpRouter, Response, caller, content_types, error_responses
from giftplans.invitations import batches, buyer, schedule, sharing
from giftplans.invitations.addresses import MAX_FROM_NAME, MAX_MESSAGE, MAX_ROWS, Row
from giftplans.schemas.purchases import SEAT_OUT
from giftplans.views import Shared

router = APIGatewayHttpRouter()
PURCHASE_ID = c.string(max_length=64)
SEAT_ID = c.string(max_length=8)

# A field whose real limit is the domain's (`addresses`, `batches`) is checked here only against a
# looser bound: the domain refuses with a reason per row or its own code, and the OpenAPI document
# states the real limit (`documented`: `maxLength`, `minLength`, `maxItems`).
INVITATION_IN = c.model(
    "InvitationIn",
    {"email": c.string(max_length=320, description="The recipient's address.")},
    {
        "message": c.string(
            max_length=4000,
            nullable=True,
            documented={"maxLength": MAX_MESSAGE},
            description="A note shown in the email.",
        ),
        "from_name": c.string(
            max_length=400,
            nullable=True,
            documented={"minLength": 1, "maxLength": MAX_FROM_NAME},
            description="Who the gift is from, as the email and the accept page show it (1-80 characters).",
        ),
        "locale": c.string(
            max_length=35,
            nullable=True,
            description="The recipient's language for the email (en, de; anything else reads English). "
            "Without it, the inviting buyer's.",
        ),
        "send_at": c.string(
            format="date-time",
            nullable=True,
            description="When to email the invitation (ISO-8601 with a time zone; SPEC 8.1): later than now, "
            "before the purchase's term_end, at most 365 days ahead. The seat is reserved at once; the term "
            "runs from the purchase whatever the date. Without it, the email goes now.",
        ),
    },
)

INVITE_REQUEST = c.model(
    "InviteRequest",
    {
        "invitations": c.array(
            INVITATION_IN,
            max_items=2000,
            documented={"minItems": 1, "maxItems": MAX_ROWS},
            description="1 to 1000 addresses (no more than the seats available), one seat each.",
        )
    },
)

SEATS_OUT = c.model("SeatsOut", {"seats": c.array(SEAT_OUT)})

ONE_SEAT_OUT = c.model("OneSeatOut", {"seat": SEAT_OUT})

RESENT_SEAT = c.model("ResentSeat", {"seat_id": c.string(), "state": c.string(), "last_sent_at": c.string()})

RESENT_OUT = c.model("ResentOut", {"seat": RESENT_SEAT})

SHARED_OUT = c.model(
    "SharedOut",
    {
        "seat": SEAT_OUT,
        "url": c.string(
            description="The single-use accept link. Shown this once: it is never mailed, stored or shown "
            "again."
        ),
    },
)


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
@c.takes(router, path={"purchase_id": PURCHASE_ID}, body=INVITE_REQUEST, answers=SEATS_OUT)
def invite(purchase_id: str, body: dict[str, Any]) -> dict[str, Any]:
    rows = [
        Row(
            r["email"],
            r.get("message"),
            r.get("from_name"),
            r.get("locale"),
            schedule.canonical(r.get("send_at")),
        )
        for r in body["invitations"]
    ]
    key = batches.check_idempotency_key(router.current_event.headers.get("idempotency-key"))
    seats = buyer.invite(purchase_id, caller(router), rows, idempotency_key=key)
    return {"seats": [seat.as_json() for seat in seats]}


@router.post(
    "/purchases/<purchase_id>/seats/<seat_id>/revoke",
    tags=["seats"],
    summary="Take back an invitation that has not been accepted",
    responses=error_responses(401, 404, 409, 410, 503),
)
@c.takes(router, path={"purchase_id": PURCHASE_ID, "seat_id": SEAT_ID}, answers=ONE_SEAT_OUT)
def revoke(purchase_id: str, seat_id: str) -> dict[str, Any]:
    seat = buyer.revoke(purchase_id, seat_id, caller(router))
    return {"seat": seat.as_json()}


@router.post(
    "/purchases/<purchase_id>/seats/<seat_id>/resend",
    status_code=202,
    tags=["seats"],
    summary="Email a fresh link for an invitation (the old link stops working)",
    description=(
        "202 `{seat}` for an emailed invitation. A seat shared by link (SPEC 8.2) has no address to "
        "mail: it answers 200 `{seat, url}` (`SharedOut`) with a fresh link, and the old link stops working."
    ),
    responses=error_responses(401, 404, 409, 410, 429, 503),
)
@c.takes(
    router, path={"purchase_id": PURCHASE_ID, "seat_id": SEAT_ID}, answers={200: SHARED_OUT, 202: RESENT_OUT}
)
def resend(purchase_id: str, seat_id: str) -> Response[dict[str, Any]]:
    seat = sharing.resend(purchase_id, seat_id, caller(router))
    if isinstance(seat, Shared):
        return Response(200, content_types.APPLICATION_JSON, seat.as_json())
    return Response(202, content_types.APPLICATION_JSON, {"seat": seat.as_json()})


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
@c.takes(router, path={"purchase_id": PURCHASE_ID, "seat_id": SEAT_ID}, answers=SHARED_OUT)
def share(purchase_id: str, seat_id: str) -> dict[str, Any]:
    return sharing.share(purchase_id, seat_id, caller(router)).as_json()


@router.post(
    "/purchases/<purchase_id>/claim",
    tags=["seats"],
    summary="Claim one seat for yourself",
    responses=error_responses(401, 403, 404, 409, 410, 503),
)
@c.takes(router, path={"purchase_id": PURCHASE_ID}, answers=ONE_SEAT_OUT)
def claim(purchase_id: str) -> dict[str, Any]:
    return {"seat": claims.claim(purchase_id, caller(router)).as_json()}
