"""Nothing a representative full flow logs contains a raw email address, a token or a Stripe secret.

The flow, through the real handlers: Stripe fulfils a checkout (and a forged delivery is
refused), the buyer invites, the mail function sends (SES throttled once, then retried), the
recipient previews and accepts with a wrong account first, the sweep runs at term end, and
a full refund arrives. Powertools' Logger writes JSON to stdout (capsys); the stdlib
loggers go through caplog. Both are searched.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError
from giftplans import purchases, secrets
from giftplans.outbox import sending
from giftplans.store import get_store

from tests.hardening.test_faults import SweepContext
from tests.support import gifts
from tests.support import stripe_events as se
from tests.support.apigw import FakeContext, call, http_event, load_handler
from tests.support.streams import record, stream_event
from tests.support.upgrade_steps import deliver

pytestmark = pytest.mark.usefixtures("aws", "clock", "settings")

BUYER, BUYER_EMAIL = "buyer-log-1", "Bea.Buyer+gifts@example.com"
RECIPIENT, RECIPIENT_EMAIL = "recipient-log-1", "rita.recipient@example.org"
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
STRIPE_SECRET = re.compile(r"\b(whsec|sk_live|sk_test|rk_live|rk_test)_[A-Za-z0-9_]+")
ALLOWED_ADDRESSES = {"gifts@example.com"}  # the service's own From address (configuration, not personal data)


def mail(sender: sending.Sender, *records: dict[str, Any]) -> dict[str, Any]:
    return load_handler("mailer").build(sender)(stream_event(*records), FakeContext())


def test_given_a_full_flow_when_its_logs_are_read_then_no_email_token_or_secret_appears(
    caplog, capsys, monkeypatch, clock
):
    caplog.set_level(logging.INFO)  # the deployed level (POWERTOOLS_LOG_LEVEL)
    # Powertools loggers do not propagate and write to the stdout of the test that made them:
    # hand every record to caplog as well, whoever imported the logger first.
    for name in ["gift-plans", "giftplans", *logging.Logger.manager.loggerDict]:
        if name.startswith(("gift-plans", "giftplans")):
            monkeypatch.setattr(
                logging.getLogger(name), "handlers", [*logging.getLogger(name).handlers, caplog.handler]
            )
    sender = sending.SesSender()
    # Stripe: a forged delivery, then the real one
    evt = se.checkout_completed(buyer_id=BUYER, buyer_email=BUYER_EMAIL, quantity=2)
    assert call("stripe_webhook", se.webhook_request(evt, secret="whsec_forged_elsewhere"))[0] == 400
    assert deliver(evt)[0] == 200
    purchase_id = purchases.purchase_id_for(evt["data"]["object"]["id"])
    buyer = gifts.who(BUYER, BUYER_EMAIL)
    receipt = record(None, gifts.purchase(purchase_id))

    # invite, and mail it: SES throttles once, the stream retries
    before = gifts.seat(purchase_id, "0001")
    assert gifts.invite(purchase_id, RECIPIENT_EMAIL, as_=buyer)[0] == 201
    invitation = record(before, gifts.seat(purchase_id, "0001"))
    real_send, calls = sender.client.send_email, [0]

    def throttled_once(**request: Any) -> Any:
        calls[0] += 1
        if calls[0] == 1:
            raise ClientError(
                {"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "SendEmail"
            )
        return real_send(**request)

    monkeypatch.setattr(sender.client, "send_email", throttled_once)
    mail(sender, receipt, invitation)
    mail(sender, receipt, invitation)
    token = gifts.link(purchase_id, "0001")

    # the recipient: preview, a wrong account, then accept
    assert gifts.preview(token)[0] == 200
    assert gifts.accept(token, gifts.who("stranger-1", "stranger@example.net"))[0] == 403
    before = gifts.seat(purchase_id, "0001")
    assert gifts.accept(token, gifts.who(RECIPIENT, RECIPIENT_EMAIL))[0] == 200
    mail(sender, record(before, gifts.seat(purchase_id, "0001")))

    # a year later the sweep; then a full refund
    clock.advance(days=366)
    load_handler("expiry_sweep").handler({"from": "2027-01-01"}, SweepContext())
    purchase = get_store().purchase(purchase_id)
    assert purchase is not None
    charge = se.resource("charge")
    charge.update(
        {
            "id": "ch_test_logs",
            "amount": purchase.amount_total,
            "amount_refunded": purchase.amount_total,
            "refunded": True,
            "captured": True,
            "currency": purchase.currency,
            "payment_intent": purchase.payment_intent,
        }
    )
    assert deliver(se.event("charge.refunded", charge))[0] == 200
    assert (
        call("me_api", http_event("GET", "/me/entitlement", claims=gifts.who(RECIPIENT, RECIPIENT_EMAIL)))[0]
        == 200
    )

    logged = capsys.readouterr()
    text = "\n".join([logged.out, logged.err, caplog.text, *(str(r.__dict__) for r in caplog.records)])
    assert "email sent" in text, "the flow logged nothing: the capture is not looking at the right place"
    addresses = {a for a in EMAIL.findall(text) if a.lower() not in ALLOWED_ADDRESSES}
    assert addresses == set(), f"raw email addresses in the logs: {addresses}"
    assert token not in text and token.rsplit(".", 1)[-1] not in text, "an invitation token is in the logs"
    assert not STRIPE_SECRET.search(text), STRIPE_SECRET.search(text)
    for name in ("STRIPE_WEBHOOK_SECRET", "TOKEN_KEY", "STRIPE_API_KEY"):
        assert secrets.get(name) not in text, f"{name} is in the logs"
