"""Injected faults: DynamoDB throttling or a timeout on every write path -> a clean 503 (or a retry), nothing
half-written; Stripe failing while a checkout is created -> 502/503 with a sentence.

Covered elsewhere, not repeated here:
- SES throttling in the mail function (the record fails, the stream retries it, one email):
  tests/integration/test_mailer.py::test_given_ses_throttles_when_batch_runs_then_record_failed_and_no_claim_left
  and ::test_given_ses_throttled_once_when_stream_retries_then_sent_exactly_once;
- the function dying mid-fulfilment (Stripe's retry completes it, exactly n seats):
  tests/integration/test_webhook.py::test_given_failure_after_some_seat_chunks_when_stripe_retries_then_exactly_n_seats;
- the function dying mid-sweep (the next run finishes, no transition twice):
  tests/integration/test_sweep.py::test_given_sweep_crashes_half_way_when_run_again_then_it_finishes_and_no_transition_happens_twice;
- Stripe refusing (4xx -> 502) or unreachable (-> 503) during checkout: tests/integration/test_checkout.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from giftplans import tokens
from giftplans.errors import UpstreamUnavailable
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.sweep import SweepIncomplete
from pynamodb.exceptions import PynamoDBException

from tests.hardening.faults import FAULTS, failing_writes, snapshot
from tests.support import gifts
from tests.support import stripe_events as se
from tests.support.apigw import FakeContext, call, claims, http_event, load_handler
from tests.support.factories import paid_purchase
from tests.support.upgrade_steps import charge_refunded, deliver, holder

pytestmark = pytest.mark.usefixtures("aws", "clock", "settings")

BUYER, BUYER_EMAIL = gifts.BUYER, gifts.BUYER_EMAIL
RECIPIENT, RECIPIENT_EMAIL = "recipient-1", "rita@example.com"
SUPPORT_ARN = "arn:aws:sts::000000000000:assumed-role/gift-plans-support/support"
Act = Callable[[], tuple[int, Any]]
BACKFILL = {"from": "2027-01-01"}  # every due day since the 30-day reminder of a 2026-03-01 purchase


class SweepContext(FakeContext):
    """The sweep's 15 minutes: it stops a minute before the end, so 30 s would make it continue at once."""

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 900_000


def invited_purchase() -> str:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL)
    status, body = gifts.invite(purchase_id, RECIPIENT_EMAIL)
    assert status == 201, body
    return purchase_id


def upgrade_completed(purchase_id: str) -> dict[str, Any]:
    session = se.resource("checkout.session")
    session.update(
        {
            "id": "cs_test_upgrade_fault",
            "mode": "subscription",
            "status": "complete",
            "payment_status": "paid",
            "subscription": "sub_test_fault",
            "customer": "cus_test_fault",
            "client_reference_id": RECIPIENT,
            "metadata": {
                "kind": "upgrade",
                "account_id": RECIPIENT,
                "plan": "team",
                "purchase_id": purchase_id,
                "seat_id": "0001",
            },
        }
    )
    return se.event("checkout.session.completed", session)


# ---- the write paths: each a given (no faults) returning the when (run under faults) ---------------------


def given_invite() -> Act:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL)
    return lambda: gifts.invite(purchase_id, RECIPIENT_EMAIL)


def given_revoke() -> Act:
    purchase_id = invited_purchase()
    return lambda: gifts.seat_action(purchase_id, "0001", "revoke")


def given_resend(clock: Any) -> Act:
    purchase_id = invited_purchase()
    clock.advance(minutes=11)
    return lambda: gifts.seat_action(purchase_id, "0001", "resend")


def given_accept() -> Act:
    purchase_id = invited_purchase()
    link = gifts.link(purchase_id, "0001")
    return lambda: gifts.accept(link, gifts.who(RECIPIENT, RECIPIENT_EMAIL))


def given_decline() -> Act:
    purchase_id = invited_purchase()
    link = gifts.link(purchase_id, "0001")
    return lambda: gifts.decline(link)


def given_claim() -> Act:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL, quantity=3)
    return lambda: gifts.claim(purchase_id)


def given_verification_request() -> Act:
    who = claims("unverified-1", "una@example.com", verified=False)
    return lambda: call("me_api", http_event("POST", "/me/email-verification", claims=who))


def given_verification_confirm() -> Act:
    who = claims("unverified-1", "una@example.com", verified=False)
    status, body = call("me_api", http_event("POST", "/me/email-verification", claims=who))
    assert status == 202, body
    nonce = m.Profile.get(k.account_pk("unverified-1"), k.PROFILE_SK, consistent_read=True).verify_nonce
    token = tokens.verification_token("unverified-1", str(nonce))
    return lambda: call(
        "me_api", http_event("POST", "/me/email-verification/confirm", body={"token": token}, claims=who)
    )


def given_fulfilment() -> Act:
    evt = se.checkout_completed(buyer_id=BUYER, buyer_email=BUYER_EMAIL, quantity=3)
    return lambda: deliver(evt)


def given_refund() -> Act:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL)
    evt = charge_refunded(purchase_id)
    return lambda: deliver(evt)


def given_upgrade_completion() -> Act:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL, quantity=1)
    holder(purchase_id, 1, RECIPIENT, RECIPIENT_EMAIL)
    evt = upgrade_completed(purchase_id)
    return lambda: deliver(evt)


def given_support_cancel() -> Act:
    purchase_id = invited_purchase()
    path = f"/admin/purchases/{purchase_id}/seats/0001/cancel"
    event = http_event(
        "POST",
        path,
        route="/admin/purchases/{purchase_id}/seats/{seat_id}/cancel",
        iam_arn=SUPPORT_ARN,
        path_params={"purchase_id": purchase_id, "seat_id": "0001"},
    )
    return lambda: call("admin_api", event)


HTTP_PATHS: dict[str, Callable[..., Act]] = {
    "invite": given_invite,
    "revoke": given_revoke,
    "resend": given_resend,
    "accept": given_accept,
    "decline": given_decline,
    "claim": given_claim,
    "verification-request": given_verification_request,
    "verification-confirm": given_verification_confirm,
    "support-cancel": given_support_cancel,
}
WEBHOOK_PATHS: dict[str, Callable[[], Act]] = {
    "fulfilment": given_fulfilment,
    "refund": given_refund,
    "upgrade-completion": given_upgrade_completion,
}


def _given(factory: Callable[..., Act], clock: Any) -> Act:
    return factory(clock) if factory is given_resend else factory()


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("path", sorted(HTTP_PATHS))
def test_given_dynamodb_fails_every_write_when_a_write_route_is_called_then_503_and_table_unchanged(
    path, fault, clock, monkeypatch
):
    act = _given(HTTP_PATHS[path], clock)
    before = snapshot()

    with failing_writes(monkeypatch, fault) as refused:
        status, body = act()

    assert refused, "the fault was never reached: this path wrote nothing"
    assert status == 503, body
    assert set(body) == {"error"} and body["error"]["code"] == "temporarily_unavailable"
    assert body["error"]["message"].endswith(".")
    assert snapshot() == before


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("path", sorted(WEBHOOK_PATHS))
def test_given_dynamodb_fails_every_write_when_stripe_delivers_then_503_so_stripe_retries_and_table_unchanged(
    path, fault, monkeypatch
):
    act = WEBHOOK_PATHS[path]()
    before = snapshot()

    with failing_writes(monkeypatch, fault) as refused:
        status, body = act()

    assert refused
    assert status == 503, body
    assert body["error"]["code"] == "temporarily_unavailable"
    assert snapshot() == before
    status, body = act()  # Stripe's retry, the table healthy again
    assert status == 200, body
    assert snapshot() != before


@pytest.mark.parametrize("fault", FAULTS)
def test_given_dynamodb_fails_every_write_when_sweep_runs_then_it_fails_loudly_and_table_unchanged(
    fault, clock, monkeypatch
):
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL, quantity=2)
    holder(purchase_id, 1, RECIPIENT, RECIPIENT_EMAIL)
    clock.advance(days=366)
    sweep = load_handler("expiry_sweep")
    before = snapshot()

    with failing_writes(monkeypatch, fault) as refused, pytest.raises(Exception) as failed:
        sweep.handler(BACKFILL, SweepContext())

    assert refused
    assert isinstance(failed.value, (SweepIncomplete, UpstreamUnavailable, PynamoDBException)), repr(
        failed.value
    )
    assert snapshot() == before
    # the next run (a retry or tomorrow's schedule) does the work
    result = sweep.handler(BACKFILL, SweepContext())
    assert result["expired"] == 2, result  # both seats, once
    assert gifts.seat(purchase_id, "0001").state == "expired"


# ---- Stripe failing while a checkout is created ------------------------------------------------------------


@pytest.mark.parametrize(
    "stripe_status, expected", [(500, 503), (503, 503), (429, 503), (402, 502), (401, 502)]
)
def test_given_stripe_answers_an_error_when_checkout_is_created_then_502_or_503_with_a_sentence(
    stripe_stub, stripe_status, expected
):
    stripe_stub.status = stripe_status

    status, body = call(
        "checkout",
        http_event(
            "POST",
            "/checkout/sessions",
            body={"plan": "pro", "quantity": 2},
            claims=claims(BUYER, BUYER_EMAIL),
        ),
    )

    assert status == expected, body
    assert set(body) == {"error"}
    assert body["error"]["code"] in ("payment_provider_unavailable", "payment_provider_error")
    assert body["error"]["message"].endswith(".") and " " in body["error"]["message"]
