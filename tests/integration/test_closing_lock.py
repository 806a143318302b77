"""SPEC rule 14: a full refund cancels every seat; while its close job runs nothing more is handed out.

The webhook records the close job and, in the same write, marks the purchase `closing`; until the
background has cancelled the seats and settled the purchase, invites, claims, shared links and
accepts answer as they do for a refunded purchase (409 `purchase_refunded`, the link 410
`invitation_cancelled`), and change nothing. So do the buyer's resends (mailed or shared) and
support's resend, cancel (with or without refund) and upgrade offer, refused by their own write's
condition. After the background: refunded, as before.
"""

from __future__ import annotations

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
from tests.support.background import LambdaInvocations
from tests.support.upgrade_steps import charge_refunded, deliver

pytestmark = pytest.mark.usefixtures("aws", "clock", "settings")

ANN = claims("sub-ann", "ann@example.com")
BOB = claims("sub-bob", "bob@example.com")


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
    deployed: LambdaInvocations,
) -> None:
    pid = factories.paid_purchase(quantity=5)
    assert g.invite(pid, "ann@example.com")[0] == 201  # seat 0001, mailed
    mailed = g.link(pid, "0001")
    shared = shared_token(pid, "0002")
    status, body = deliver(charge_refunded(pid))
    assert status == 200 and "background" in body["result"], body
    assert deployed.payloads() == [{"close": pid}]
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
    deployed: LambdaInvocations, monkeypatch: pytest.MonkeyPatch
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
    deployed: LambdaInvocations,
) -> None:
    pid = factories.paid_purchase(quantity=2)
    deliver(charge_refunded(pid))
    closing.run(pid)
    version = int(g.purchase(pid).version)

    status, body = deliver(charge_refunded(pid))

    assert status == 200 and "already refunded" in body["result"], body
    purchase = g.purchase(pid)
    assert int(purchase.version) == version and purchase.closing is None


# ---- a resend and support's actions: the same lock, in the same write -------------------------------------


def support(path: str, route: str, **kwargs: Any) -> tuple[int, Any]:
    from tests.integration.test_admin_api import admin

    return admin("POST", path, route, **kwargs)


def support_on_seat(pid: str, seat_id: str, action: str, body: Any = None) -> tuple[int, Any]:
    return support(
        f"/admin/purchases/{pid}/seats/{seat_id}/{action}",
        f"/admin/purchases/{{purchase_id}}/seats/{{seat_id}}/{action}",
        body=body,
        path_params={"purchase_id": pid, "seat_id": seat_id},
    )


def refused_as_refunded(answer: tuple[int, Any]) -> None:
    status, body = answer
    assert (status, body["error"]["code"]) == (409, "purchase_refunded"), body


def test_given_a_close_job_running_when_the_buyer_resends_then_refused_like_a_refund_and_nothing_changes(
    deployed: LambdaInvocations, clock: Any
) -> None:
    pid = factories.paid_purchase(quantity=5)
    assert g.invite(pid, "ann@example.com")[0] == 201  # seat 0001, mailed
    shared_token(pid, "0002")
    deliver(charge_refunded(pid))
    clock.advance(minutes=61)  # past the resend interval: only the close job stands in the way
    before, events = versions(pid), g.audit_kinds(pid)

    refused_as_refunded(g.seat_action(pid, "0001", "resend"))  # an emailed invitation
    refused_as_refunded(g.seat_action(pid, "0002", "resend"))  # a shared link (a fresh one)

    assert versions(pid) == before and g.audit_kinds(pid) == events
    assert closing.run(pid).done is True  # the background's run still settles it


def test_given_a_close_job_running_when_support_resends_cancels_or_refunds_a_seat_then_refused(
    deployed: LambdaInvocations, clock: Any, stripe: Any
) -> None:
    pid = factories.paid_purchase(quantity=5)
    assert g.invite(pid, "ann@example.com")[0] == 201  # seat 0001, invited (IN_STEP purchase side)
    assert g.claim(pid)[0] == 200  # seat 0002, claimed: 0003.. never handed out (fresh run)
    deliver(charge_refunded(pid))
    clock.advance(minutes=61)
    before, events = versions(pid), g.audit_kinds(pid)
    counts = g.purchase(pid).seat_counts.as_dict()

    refused_as_refunded(support_on_seat(pid, "0001", "resend"))
    refused_as_refunded(support_on_seat(pid, "0001", "cancel"))  # an invited seat
    refused_as_refunded(support_on_seat(pid, "0003", "cancel"))  # a seat never handed out
    refused_as_refunded(support_on_seat(pid, "0004", "cancel", {"refund": True}))
    upgrade = {"purchase_id": pid, "seat_id": "0002", "plan": "team"}
    refused_as_refunded(support("/admin/upgrades", "/admin/upgrades", body=upgrade))

    assert versions(pid) == before and g.audit_kinds(pid) == events
    assert g.purchase(pid).seat_counts.as_dict() == counts
    assert stripe.to("/v1/refunds") == []  # no seat's value refunded on top of the full refund
    assert closing.run(pid).done is True


def test_given_a_seat_given_back_when_support_cancels_it_while_the_job_runs_then_refused(
    deployed: LambdaInvocations,
) -> None:
    """The third purchase side of a cancel: a seat back in the pool (its free marker), not the fresh run."""
    pid = factories.paid_purchase(quantity=3)
    assert g.invite(pid, "ann@example.com")[0] == 201
    assert g.seat_action(pid, "0001", "revoke")[0] == 200  # 0001 available again, below fresh_from
    deliver(charge_refunded(pid))
    version = int(g.seat(pid, "0001").version)

    refused_as_refunded(support_on_seat(pid, "0001", "cancel"))

    assert int(g.seat(pid, "0001").version) == version and g.seat(pid, "0001").state == "available"
