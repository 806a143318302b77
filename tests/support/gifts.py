"""Given/when steps for the invitation flows, through the real HTTP handlers."""

from __future__ import annotations

from typing import Any

from giftplans import tokens
from giftplans.store import keys as k
from giftplans.store import models as m

from tests.support.apigw import call, claims, http_event

BUYER, BUYER_EMAIL = "buyer-1", "buyer@example.com"


def who(sub: str = BUYER, email: str | None = BUYER_EMAIL, verified: bool = True) -> dict[str, str]:
    return claims(sub, email, verified)


def invite(
    purchase_id: str,
    *emails: str,
    as_: dict[str, str] | None = None,
    rows: list[dict[str, Any]] | None = None,
) -> tuple[int, Any]:
    body = {"invitations": rows if rows is not None else [{"email": e} for e in emails]}
    path = f"/purchases/{purchase_id}/invitations"
    return call(
        "purchases_api",
        http_event(
            "POST",
            path,
            route="/purchases/{purchase_id}/invitations",
            body=body,
            claims=as_ or who(),
            path_params={"purchase_id": purchase_id},
        ),
    )


def seat_action(
    purchase_id: str, seat_id: str, action: str, *, as_: dict[str, str] | None = None
) -> tuple[int, Any]:
    path = f"/purchases/{purchase_id}/seats/{seat_id}/{action}"
    return call(
        "purchases_api",
        http_event(
            "POST",
            path,
            route=f"/purchases/{{purchase_id}}/seats/{{seat_id}}/{action}",
            claims=as_ or who(),
            path_params={"purchase_id": purchase_id, "seat_id": seat_id},
        ),
    )


def claim(purchase_id: str, *, as_: dict[str, str] | None = None) -> tuple[int, Any]:
    path = f"/purchases/{purchase_id}/claim"
    return call(
        "purchases_api",
        http_event(
            "POST",
            path,
            route="/purchases/{purchase_id}/claim",
            claims=as_ or who(),
            path_params={"purchase_id": purchase_id},
        ),
    )


def preview(token: str) -> tuple[int, Any]:
    return call(
        "invitations_api",
        http_event(
            "GET", f"/invitations/{token}", route="/invitations/{token}", path_params={"token": token}
        ),
    )


def accept(token: str, as_: dict[str, str]) -> tuple[int, Any]:
    return call(
        "invitations_api", http_event("POST", "/invitations/accept", body={"token": token}, claims=as_)
    )


def decline(token: str) -> tuple[int, Any]:
    return call("invitations_api", http_event("POST", "/invitations/decline", body={"token": token}))


def entitlement(as_: dict[str, str]) -> tuple[int, Any]:
    return call("me_api", http_event("GET", "/me/entitlement", claims=as_))


def seat(purchase_id: str, seat_id: str) -> m.Seat:
    return m.Seat.get(k.purchase_pk(purchase_id), k.seat_sk(seat_id), consistent_read=True)


def purchase(purchase_id: str) -> m.Purchase:
    return m.Purchase.get(k.purchase_pk(purchase_id), k.PURCHASE_SK, consistent_read=True)


def link(purchase_id: str, seat_id: str) -> str:
    """The token the mailer would put in the current invitation email (rebuilt from the seat's nonce)."""
    s = seat(purchase_id, seat_id)
    assert s.nonce, f"seat {seat_id} has no live link"
    return str(tokens.invite_token(purchase_id, seat_id, s.plan, int(s.term_end_ts), s.nonce))


def audit_kinds(purchase_id: str) -> list[str]:
    return [
        e.kind
        for e in m.Item.query(k.purchase_pk(purchase_id), m.Item.SK.startswith("EVENT#"))
        if isinstance(e, m.AuditEvent)
    ]
