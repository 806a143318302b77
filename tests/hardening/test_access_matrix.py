"""Access: every route of template.yaml, called by each kind of caller, through the real handlers.

Callers: no one (no identity at all), another buyer, the recipient of the invited seat, the
buyer, and support (an IAM identity, no JWT). Each cell of MATRIX is the status that caller
must get; the world is built fresh for every cell (a paid 3-seat Pro purchase, seat 0001
invited to the recipient, 11 minutes later so a resend is allowed).

"No one" on a JWT route: API Gateway's JWT authorizer refuses before any handler runs
(the local stand-in does the same: tests/unit/test_local_adapter.py, including tokens with
the wrong audience, issuer, expiry or signature, which get 401). Here the template must
mark the route JWT *and* the handler must refuse without claims (401), so a route left
open by mistake in the template is still closed.
"""

from __future__ import annotations

from typing import Any

import pytest
from giftplans.store import keys as k
from giftplans.store import models as m

from local import template
from tests.support import gifts
from tests.support import stripe_events as se
from tests.support.apigw import call, claims, http_event
from tests.support.factories import paid_purchase
from tests.support.stripe_fake import FakeStripe

pytestmark = pytest.mark.usefixtures("aws", "clock", "settings")

BUYER, BUYER_EMAIL = gifts.BUYER, gifts.BUYER_EMAIL
OTHER, OTHER_EMAIL = "buyer-2", "other@example.com"
RECIPIENT, RECIPIENT_EMAIL = "recipient-1", "rita@example.com"
SUPPORT_ARN = "arn:aws:sts::000000000000:assumed-role/gift-plans-support/support"
CALLERS = ["no_one", "other_buyer", "recipient", "buyer", "support"]

# route -> status per caller, in CALLERS order.
MATRIX: dict[tuple[str, str], tuple[int, int, int, int, int]] = {
    ("POST", "/checkout/sessions"): (401, 201, 201, 201, 401),
    ("POST", "/webhooks/stripe"): (400, 400, 400, 400, 400),  # Stripe's signature, whoever calls
    ("GET", "/purchases"): (401, 200, 200, 200, 401),
    ("GET", "/purchases/{purchase_id}"): (401, 404, 404, 200, 401),
    ("GET", "/purchases/{purchase_id}/seats/{seat_id}"): (401, 404, 404, 200, 401),
    ("POST", "/purchases/{purchase_id}/invitations"): (401, 404, 404, 201, 401),
    ("POST", "/purchases/{purchase_id}/seats/{seat_id}/revoke"): (401, 404, 404, 200, 401),
    ("POST", "/purchases/{purchase_id}/seats/{seat_id}/resend"): (401, 404, 404, 202, 401),
    # seat 0001 is invited by email, so the buyer's share is a 409 (only an available seat is shared)
    ("POST", "/purchases/{purchase_id}/seats/{seat_id}/link"): (401, 404, 404, 409, 401),
    ("POST", "/purchases/{purchase_id}/claim"): (401, 404, 404, 200, 401),
    ("GET", "/invitations/{token}"): (200, 200, 200, 200, 200),  # the link is the capability
    ("POST", "/invitations/accept"): (401, 403, 200, 403, 401),
    ("POST", "/invitations/decline"): (200, 200, 200, 200, 200),  # the link is the capability
    ("GET", "/me"): (401, 200, 200, 200, 401),
    ("GET", "/me/entitlement"): (401, 200, 200, 200, 401),
    ("POST", "/me/email-verification"): (401, 202, 202, 202, 401),
    ("POST", "/me/email-verification/confirm"): (401, 422, 422, 422, 401),  # a token never sent
    ("POST", "/me/upgrade/quote"): (401, 404, 404, 404, 401),
    ("POST", "/me/upgrade/checkout"): (401, 404, 404, 404, 401),
    ("POST", "/me/renewal/checkout"): (401, 404, 404, 404, 401),
    ("POST", "/me/billing-portal"): (401, 404, 404, 404, 401),  # nobody here has a Stripe customer
    ("POST", "/upgrade-offers/checkout"): (404, 404, 404, 404, 404),  # the link is the capability: none here
    ("GET", "/admin/purchases"): (403, 403, 403, 403, 200),
    ("GET", "/admin/purchases/{purchase_id}"): (403, 403, 403, 403, 200),
    ("GET", "/admin/purchases/{purchase_id}/events"): (403, 403, 403, 403, 200),
    ("POST", "/admin/purchases/{purchase_id}/seats/{seat_id}/resend"): (403, 403, 403, 403, 202),
    ("POST", "/admin/purchases/{purchase_id}/seats/{seat_id}/cancel"): (403, 403, 403, 403, 200),
    ("POST", "/admin/upgrades"): (403, 403, 403, 403, 409),  # seat 0001 is invited, not in use
    ("GET", "/admin/people"): (403, 403, 403, 403, 200),
    ("POST", "/admin/people/erase"): (403, 403, 403, 403, 200),
    ("GET", "/admin/attention"): (403, 403, 403, 403, 200),
    ("GET", "/openapi.json"): (200, 200, 200, 200, 200),
}
ROUTES = {(r.method, r.path): r for r in template.routes()}


def identity(caller: str) -> dict[str, Any]:
    if caller == "no_one":
        return {}
    if caller == "support":
        return {"iam_arn": SUPPORT_ARN}
    sub, email = {
        "other_buyer": (OTHER, OTHER_EMAIL),
        "recipient": (RECIPIENT, RECIPIENT_EMAIL),
        "buyer": (BUYER, BUYER_EMAIL),
    }[caller]
    return {"claims": claims(sub, email, verified=True)}


def world(clock: Any) -> dict[str, str]:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL, quantity=3)
    status, body = gifts.invite(purchase_id, RECIPIENT_EMAIL)
    assert status == 201, body
    clock.advance(minutes=11)
    return {"purchase_id": purchase_id, "seat_id": "0001", "token": gifts.link(purchase_id, "0001")}


def body_for(method: str, path: str, ids: dict[str, str]) -> Any:
    return {
        "/checkout/sessions": {"plan": "pro", "quantity": 2},
        "/webhooks/stripe": se.checkout_completed(),
        "/purchases/{purchase_id}/invitations": {"invitations": [{"email": "newcomer@example.com"}]},
        "/invitations/accept": {"token": ids["token"]},
        "/invitations/decline": {"token": ids["token"]},
        "/me/email-verification/confirm": {"token": "not-a-verification-token"},
        "/me/upgrade/quote": {"plan": "team"},
        "/me/upgrade/checkout": {"plan": "team"},
        "/me/renewal/checkout": {"plan": "pro"},
        "/upgrade-offers/checkout": {"offer": ids["token"]},  # an invitation link is no upgrade offer
        "/admin/upgrades": {"purchase_id": ids["purchase_id"], "seat_id": "0001", "plan": "team"},
        "/admin/people/erase": {"email": RECIPIENT_EMAIL},
    }.get(path)


def request(method: str, route_path: str, caller: str, ids: dict[str, str]) -> tuple[int, Any]:
    route = ROUTES[(method, route_path)]
    params = {k: v for k, v in ids.items() if "{" + k + "}" in route_path}
    path = route_path.format(**params)
    query = {"buyer_email": BUYER_EMAIL} if route_path == "/admin/purchases" else None
    if route_path == "/admin/people":
        query = {"email": RECIPIENT_EMAIL}
    event = http_event(
        method,
        path,
        route=route_path,
        body=body_for(method, route_path, ids),
        path_params=params or None,
        query=query,
        **identity(caller),
    )
    return call(route.job, event)


def test_given_the_matrix_when_compared_with_the_template_then_every_route_has_a_row():
    assert set(MATRIX) == set(ROUTES)


@pytest.mark.parametrize("route", sorted(MATRIX), ids=lambda r: f"{r[0]} {r[1]}")
def test_given_each_caller_when_calling_a_route_then_the_status_is_the_matrix_cell(route, clock, monkeypatch):
    """Each caller in a world of its own (a fresh purchase and invitation in the same table)."""
    got = {}
    with FakeStripe(tag="stub_").serving(monkeypatch):
        for caller in CALLERS:
            method, path = route
            status, body = request(method, path, caller, world(clock))
            got[caller] = status
            if status >= 400:
                assert isinstance(body, dict) and set(body) == {"error"}, (caller, body)
                assert body["error"]["code"] and body["error"]["message"], (caller, body)

    assert got == dict(zip(CALLERS, MATRIX[route], strict=True))


@pytest.mark.parametrize(
    "route", sorted(r for r in MATRIX if ROUTES[r].auth == "jwt"), ids=lambda r: f"{r[0]} {r[1]}"
)
def test_given_a_jwt_route_when_deployed_then_the_template_puts_the_jwt_authorizer_in_front(route):
    assert ROUTES[route].auth == "jwt"
    assert MATRIX[route][CALLERS.index("no_one")] == 401


def test_given_another_buyers_purchase_when_read_then_nothing_about_it_leaks(clock):
    ids = world(clock)

    status, body = request("GET", "/purchases/{purchase_id}", "other_buyer", ids)
    listed = request("GET", "/purchases", "other_buyer", ids)[1]

    assert status == 404
    assert ids["purchase_id"] not in str(body) and RECIPIENT_EMAIL not in str(body)
    assert listed["purchases"] == []
    assert m.Purchase.get(k.purchase_pk(ids["purchase_id"]), k.PURCHASE_SK).seat_counts.invited == 1
