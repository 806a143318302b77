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


def free_numbers(purchase_id: str) -> set[int]:
    """The available seats as the purchase's layout says (fresh run from `fresh_from`, less `holes`, plus
    the FreeSeat markers), checked against the seats' own states: the layout's invariant, in every test."""
    p = purchase(purchase_id)
    seats = [
        s
        for s in m.Item.query(k.purchase_pk(purchase_id), m.Item.SK.startswith("SEAT#"))
        if isinstance(s, m.Seat)
    ]
    by_state = {int(s.seat_id) for s in seats if s.state == "available"}
    if p.status != "paid":
        return by_state
    markers = {
        int(i.seat_no)
        for i in m.Item.query(k.purchase_pk(purchase_id), m.Item.SK.startswith("FREE#"))
        if isinstance(i, m.FreeSeat)
    }
    first = int(p.fresh_from or 1)
    fresh = {n for n in by_state if n >= first}
    assert markers == {n for n in by_state if n < first}, (markers, by_state, first)
    assert int(p.quantity) - first + 1 - int(p.holes or 0) == len(fresh)
    assert int(p.seat_counts.available) == len(by_state)
    return by_state


def live_holders(purchase_id: str) -> dict[str, str]:
    """seat_id -> email key of every Holder item whose seat still holds its address (rule 11's view)."""
    live: dict[str, str] = {}
    for item in m.Item.query(k.purchase_pk(purchase_id), m.Item.SK.startswith("HOLDER#")):
        if isinstance(item, m.Holder):
            key = item.SK.removeprefix("HOLDER#")
            s = seat(purchase_id, item.seat_id)
            if s.state in ("invited", "accepted", "claimed") and k.email_gsi(key) == s.GSI3PK:
                live[item.seat_id] = key
    return live
