"""Any AWS error inside any HTTP route answers 503 in the SPEC error shape, not a 500 (issue 13 item 7).

Faults are injected into every DynamoDB call, reads as well as writes: an error code the
service never retries on its own (access denied, a missing table), a connection failure
and a read timeout. Each route answers 503 `temporarily_unavailable` with a sentence, and
writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from giftplans.errors import UpstreamUnavailable

from tests.hardening.faults import CALL_FAULTS, failing_calls, snapshot
from tests.support import gifts
from tests.support import stripe_events as se
from tests.support.apigw import call, claims, http_event
from tests.support.factories import paid_purchase

pytestmark = pytest.mark.usefixtures("aws", "clock", "settings")

BUYER, BUYER_EMAIL = gifts.BUYER, gifts.BUYER_EMAIL
RECIPIENT = claims("recipient-1", "rita@example.com")
SUPPORT_ARN = "arn:aws:iam::123456789012:user/support"
Act = Callable[[], tuple[int, Any]]


def _invited() -> tuple[str, str]:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL)
    status, body = gifts.invite(purchase_id, "rita@example.com")
    assert status == 201, body
    return purchase_id, gifts.link(purchase_id, "0001")


def _get(job: str, path: str, route: str | None = None, **kw: Any) -> Act:
    return lambda: call(job, http_event("GET", path, route=route, **kw))


def _post(job: str, path: str, body: Any = None, route: str | None = None, **kw: Any) -> Act:
    return lambda: call(job, http_event("POST", path, route=route, body=body, **kw))


def given_list_purchases() -> Act:
    paid_purchase(BUYER, BUYER_EMAIL)
    return _get("purchases_api", "/purchases", claims=gifts.who())


def given_purchase_detail() -> Act:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL)
    return _get(
        "purchases_api",
        f"/purchases/{purchase_id}",
        route="/purchases/{purchase_id}",
        path_params={"purchase_id": purchase_id},
        claims=gifts.who(),
    )


def given_invite() -> Act:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL)
    return lambda: gifts.invite(purchase_id, "rita@example.com")


def given_share() -> Act:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL)
    return lambda: gifts.seat_action(purchase_id, "0001", "link")


def given_shared_accept() -> Act:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL)
    status, body = gifts.seat_action(purchase_id, "0001", "link")
    assert status == 201, body
    token = body["url"].split("token=", 1)[1]
    return lambda: gifts.accept(token, RECIPIENT)


def given_preview() -> Act:
    _, token = _invited()
    return lambda: gifts.preview(token)


def given_accept() -> Act:
    _, token = _invited()
    return lambda: gifts.accept(token, RECIPIENT)


def given_entitlement() -> Act:
    return _get("me_api", "/me/entitlement", claims=RECIPIENT)


def given_upgrade_quote() -> Act:
    return _post("upgrades_api", "/me/upgrade/quote", {"plan": "team"}, claims=RECIPIENT)


def given_upgrade_offer_opened() -> Act:
    from tests.support.upgrade_steps import holder

    purchase_id = paid_purchase(BUYER, BUYER_EMAIL)
    holder(purchase_id, 1, "recipient-1", "rita@example.com")
    body = {"purchase_id": purchase_id, "seat_id": "0001", "plan": "team"}
    status, offered = call("admin_api", http_event("POST", "/admin/upgrades", body=body, iam_arn=SUPPORT_ARN))
    assert status == 201, offered
    offer = offered["offer_url"].split("offer=", 1)[1]
    return _post("upgrades_api", "/upgrade-offers/checkout", {"offer": offer})


def given_support_detail() -> Act:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL)
    return _get(
        "admin_api",
        f"/admin/purchases/{purchase_id}",
        route="/admin/purchases/{purchase_id}",
        path_params={"purchase_id": purchase_id},
        iam_arn=SUPPORT_ARN,
    )


def given_support_find() -> Act:
    paid_purchase(BUYER, BUYER_EMAIL)
    return _get("admin_api", "/admin/purchases", query={"buyer_email": BUYER_EMAIL}, iam_arn=SUPPORT_ARN)


def given_stripe_delivery() -> Act:
    evt = se.checkout_completed(buyer_id=BUYER, buyer_email=BUYER_EMAIL, quantity=2)
    return lambda: call("stripe_webhook", se.webhook_request(evt))


ROUTES: dict[str, Callable[[], Act]] = {
    "GET /purchases": given_list_purchases,
    "GET /purchases/{id}": given_purchase_detail,
    "POST /purchases/{id}/invitations": given_invite,
    "GET /invitations/{token}": given_preview,
    "POST /invitations/accept": given_accept,
    "POST /purchases/{id}/seats/{seat_id}/link": given_share,
    "POST /invitations/accept (shared link)": given_shared_accept,
    "GET /me/entitlement": given_entitlement,
    "POST /me/upgrade/quote": given_upgrade_quote,
    "POST /upgrade-offers/checkout": given_upgrade_offer_opened,
    "GET /admin/purchases/{id}": given_support_detail,
    "GET /admin/purchases?buyer_email": given_support_find,
    "POST /webhooks/stripe": given_stripe_delivery,
}


@pytest.mark.parametrize("fault", CALL_FAULTS)
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_given_dynamodb_fails_every_call_when_a_route_is_called_then_503_in_the_spec_shape(
    route: str, fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    act = ROUTES[route]()
    before = snapshot()

    with failing_calls(monkeypatch, fault) as refused:
        status, body = act()

    assert refused, "the fault was never reached: this route made no DynamoDB call"
    assert status == 503, body
    assert set(body) == {"error"} and body["error"]["code"] == "temporarily_unavailable"
    assert body["error"]["message"].endswith(".") and " " in body["error"]["message"]
    assert snapshot() == before


def test_given_ssm_refuses_a_secret_when_a_route_needs_it_then_503(monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_lambda_powertools.utilities import parameters

    _, token = _invited()

    def refused(*_: Any, **__: Any) -> Any:
        error = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetParameter")
        raise parameters.exceptions.GetParameterError(str(error))

    monkeypatch.setenv("TOKEN_KEY_PARAM", "/gift-plans/test/token-key")
    monkeypatch.setattr(parameters, "get_parameter", refused)

    status, body = gifts.accept(token, RECIPIENT)  # the address comparison needs the token key

    assert status == 503, body
    assert body["error"]["code"] == UpstreamUnavailable.code
