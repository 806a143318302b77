"""SPEC rule 14: a full refund cancels every seat; while its close job runs nothing more is handed out.

The webhook records the close job and, in the same write, marks the purchase `closing`; until the
background has cancelled the seats and settled the purchase, invites, claims, shared links and
accepts answer as they do for a refunded purchase (409 `purchase_refunded`, the link 410
`invitation_cancelled`), and change nothing. After the background: refunded, as before.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from giftplans import claims as claims_module
from giftplans import closing
from giftplans.purchases import handout
from giftplans.store import get_store

from tests.support import factories
from tests.support import gifts as g
from tests.support.apigw import claims
from tests.support.upgrade_steps import charge_refunded, deliver

pytestmark = pytest.mark.usefixtures("aws", "clock", "settings")

ANN = claims("sub-ann", "ann@example.com")
BOB = claims("sub-bob", "bob@example.com")


class Lambda:
    """boto3's Lambda client as the webhook sees it in Lambda: the invocation is recorded, nothing runs."""

    def __init__(self) -> None:
        self.invoked: list[dict[str, Any]] = []

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        self.invoked.append(json.loads(Payload))
        return {"StatusCode": 202}


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Lambda:
    import boto3

    fake, real = Lambda(), boto3.client
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.13")
    monkeypatch.setenv(closing.BACKGROUND_ENV, "gift-plans-test-expiry-sweep")
    monkeypatch.setattr(
        boto3, "client", lambda name, *a, **kw: fake if name == "lambda" else real(name, *a, **kw)
    )
    return fake


def share(purchase_id: str, seat_id: str) -> tuple[int, Any]:
    return g.seat_action(purchase_id, seat_id, "link")


def shared_token(purchase_id: str, seat_id: str) -> str:
    status, body = share(purchase_id, seat_id)
    assert status == 201, body
    return str(parse_qs(urlparse(body["url"]).query)["token"][0])


def versions(pid: str) -> dict[str, int]:
    return {sid: int(g.seat(pid, sid).version) for sid in ("0001", "0002", "0003", "0004", "0005")}


def assert_refused_like_a_refund(pid: str, mailed: str, shared: str, shared_answer: tuple[int, str]) -> None:
    status, body = g.invite(pid, "carl@example.com")
    assert (status, body["error"]["code"]) == (409, "purchase_refunded"), body
    status, body = g.claim(pid)
    assert (status, body["error"]["code"]) == (409, "purchase_refunded"), body
    status, body = share(pid, "0004")
    assert (status, body["error"]["code"]) == (409, "purchase_refunded"), body
    status, body = g.accept(mailed, ANN)
    assert (status, body["error"]["code"]) == (410, "invitation_cancelled"), body
    status, body = g.accept(shared, BOB)
    assert (status, body["error"]["code"]) == shared_answer, body


def test_given_a_full_refund_pending_in_the_background_when_invite_claim_share_accept_then_refused(
    deployed: Lambda,
) -> None:
    pid = factories.paid_purchase(quantity=5)
    assert g.invite(pid, "ann@example.com")[0] == 201  # seat 0001, mailed
    mailed = g.link(pid, "0001")
    shared = shared_token(pid, "0002")
    status, body = deliver(charge_refunded(pid))
    assert status == 200 and "background" in body["result"], body
    assert deployed.invoked == [{"close": pid}]
    purchase = g.purchase(pid)
    assert purchase.status == "paid" and purchase.closing is True  # the job is not done yet
    before = versions(pid)

    assert_refused_like_a_refund(pid, mailed, shared, (410, "invitation_cancelled"))

    assert versions(pid) == before  # nothing was handed out
    assert get_store().entitlement("sub-ann") is None and get_store().entitlement("sub-bob") is None

    result = closing.run(pid)  # the background's run

    assert result.done is True
    purchase = g.purchase(pid)
    assert purchase.status == "refunded" and purchase.closing is None
    assert {g.seat(pid, sid).state for sid in before} == {"cancelled"}
    # as a refund answers today; a shared link's hash is not kept once the seat moved on: 404
    assert_refused_like_a_refund(pid, mailed, shared, (404, "invitation_not_found"))


def test_given_a_claim_that_read_the_purchase_before_the_refund_when_it_writes_then_refused_as_refunded(
    deployed: Lambda, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock is in the write's condition (`still_open`), not only in the read's check."""
    pid = factories.paid_purchase(quantity=3)
    real, refunds = handout.open_for, list[Any]()

    def refund_lands_after_the_read(*args: Any, **kwargs: Any) -> Any:
        purchase = real(*args, **kwargs)
        if not refunds:
            refunds.append(deliver(charge_refunded(pid)))
        return purchase

    monkeypatch.setattr(claims_module, "open_for", refund_lands_after_the_read)

    status, body = g.claim(pid)

    assert refunds and refunds[0][0] == 200
    assert (status, body["error"]["code"]) == (409, "purchase_refunded"), body
    assert g.seat(pid, "0001").state == "available" and get_store().entitlement("buyer-1") is None


def test_given_a_refund_already_settled_when_the_event_comes_again_then_nothing_changes(
    deployed: Lambda,
) -> None:
    pid = factories.paid_purchase(quantity=2)
    deliver(charge_refunded(pid))
    closing.run(pid)
    version = int(g.purchase(pid).version)

    status, body = deliver(charge_refunded(pid))

    assert status == 200 and "already refunded" in body["result"], body
    purchase = g.purchase(pid)
    assert int(purchase.version) == version and purchase.closing is None
