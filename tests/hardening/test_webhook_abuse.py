"""Webhook abuse: stale or foreign signatures, huge or non-JSON bodies, events naming someone else's purchase.

Each is refused (4xx) or ignored (200, nothing done) with the table exactly as it was.
A bad signature on the running server: tests/local/test_dev_server.py.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.hardening.faults import snapshot
from tests.support import stripe_events as se
from tests.support.apigw import call
from tests.support.factories import paid_purchase
from tests.support.upgrade_steps import holder, payment_intent

pytestmark = pytest.mark.usefixtures("aws", "clock", "settings")

VICTIM, VICTIM_EMAIL = "victim-1", "victim@example.com"
ATTACKER = "attacker-1"


def post(evt: dict[str, Any] | None = None, **kw: Any) -> tuple[int, Any]:
    return call("stripe_webhook", se.webhook_request(evt, **kw))


def victims_seat() -> str:
    purchase_id = paid_purchase("buyer-1", "buyer@example.com", quantity=1)
    holder(purchase_id, 1, VICTIM, VICTIM_EMAIL)
    return purchase_id


def upgrade_for(purchase_id: str, account_id: str) -> dict[str, Any]:
    session = se.resource("checkout.session")
    session.update(
        {
            "id": "cs_test_abuse",
            "mode": "subscription",
            "status": "complete",
            "payment_status": "paid",
            "subscription": "sub_test_abuse",
            "customer": "cus_test_abuse",
            "client_reference_id": account_id,
            "metadata": {
                "kind": "upgrade",
                "account_id": account_id,
                "plan": "team",
                "purchase_id": purchase_id,
                "seat_id": "0001",
            },
        }
    )
    return se.event("checkout.session.completed", session)


def refund_of(payment_intent: str) -> dict[str, Any]:
    charge = se.resource("charge")
    charge.update(
        {
            "id": "ch_test_abuse",
            "amount": 24000,
            "amount_refunded": 24000,
            "refunded": True,
            "captured": True,
            "currency": "usd",
            "payment_intent": payment_intent,
        }
    )
    return se.event("charge.refunded", charge)


@pytest.mark.parametrize(
    "case",
    [
        "replayed-after-tolerance",
        "signed-in-the-future",
        "other-endpoint-secret",
        "no-signature",
        "garbled-signature",
    ],
)
def test_given_a_valid_event_when_its_signature_is_stale_or_foreign_then_400_and_nothing_written(case):
    victims_seat()
    evt = se.checkout_completed(buyer_id=ATTACKER, buyer_email="mallory@example.com", quantity=5)
    now = int(time.time())  # Stripe signs with real time; the test clock plays no part
    kws: dict[str, dict[str, Any]] = {
        "replayed-after-tolerance": {"t": now - 301},
        "signed-in-the-future": {"t": now + 600},  # beyond the 300 s tolerance, however slow the call
        "other-endpoint-secret": {"secret": "whsec_another_endpoint"},
        "no-signature": {"signature": None},
        "garbled-signature": {"signature": "t=abc,v1=zz"},
    }
    kw = kws[case]
    before = snapshot()

    status, body = post(evt, **kw)

    assert status == 400, body
    assert body["error"]["code"] == "invalid_signature"
    assert snapshot() == before


def test_given_a_signed_body_over_256_kb_when_posted_then_413_and_nothing_written():
    evt = se.checkout_completed(buyer_id=ATTACKER, quantity=5)
    evt["data"]["object"]["metadata"]["padding"] = "x" * (256 * 1024)
    before = snapshot()

    status, body = post(evt)

    assert status == 413, body
    assert body["error"]["code"] == "payload_too_large"
    assert snapshot() == before


@pytest.mark.parametrize(
    "payload", [b"not json at all", b"[1, 2, 3]", b'{"no": "type"}', b"\xff\xfe\x00", b""]
)
def test_given_a_correctly_signed_body_that_is_not_a_stripe_event_when_posted_then_400_and_nothing_written(
    payload,
):
    before = snapshot()

    status, body = post(payload=payload)

    assert status == 400, body
    assert set(body) == {"error"}
    assert snapshot() == before


def test_given_upgrade_completion_for_another_accounts_seat_when_delivered_then_ignored_and_nothing_written():
    purchase_id = victims_seat()
    before = snapshot()

    status, body = post(upgrade_for(purchase_id, ATTACKER))

    assert status == 200, body
    assert body["result"].startswith("ignored"), body
    assert snapshot() == before


@pytest.mark.parametrize("purchase_id", ["pur_AAAAAAAAAAAAAAAAAAAAAAAAAA", "../PURCHASE#x", ""])
def test_given_upgrade_completion_naming_an_unknown_purchase_when_delivered_then_ignored_and_nothing_written(
    purchase_id,
):
    victims_seat()
    before = snapshot()

    status, body = post(upgrade_for(purchase_id, VICTIM))

    assert status == 200, body
    assert "ignored" in str(body["result"]), body
    assert snapshot() == before


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({}, 200),  # somebody else's charge: ignored
        ({"kind": "upgrade"}, 200),  # ours, but not a gift: nothing here to refund
        ({"kind": "gift"}, 503),  # a gift whose fulfilment has not landed yet: Stripe retries later
    ],
)
def test_given_refund_for_an_unknown_payment_intent_when_delivered_then_nothing_written(
    stripe, metadata, expected
):
    paid_purchase("buyer-1", "buyer@example.com")
    stripe.payment_intents["pi_test_somebody_elses"] = payment_intent("pi_test_somebody_elses", metadata)
    before = snapshot()

    status, body = post(refund_of("pi_test_somebody_elses"))

    assert status == expected, body
    if expected == 200:
        assert "ignored" in str(body["result"]), body
    assert snapshot() == before
    assert [r.path for r in stripe.requests] == ["/v1/payment_intents/pi_test_somebody_elses"]
