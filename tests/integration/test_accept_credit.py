"""SPEC 8.5: accepting while already holding a plan credits the gift's remaining value to Stripe's balance."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from giftplans import clock as real_clock
from giftplans import credits, webhooks
from giftplans.errors import DomainError
from giftplans.identity import Caller
from giftplans.invitations import link
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store import transitions

from tests.integration.test_races import race
from tests.integration.test_races import serializable as serializable
from tests.integration.test_subscriptions import sub_event
from tests.support import factories
from tests.support import gifts as g
from tests.support.stripe_fake import FakeStripe

ANN = g.who("ann-sub", "ann@example.com")
B2 = g.who("b2", "b2@example.com")


@pytest.fixture
def gifts(aws: None, clock: object) -> tuple[str, str]:
    """Ann holds a Team gift (accepted) and is invited to a Pro one (24000, 3 seats of 72000)."""
    team = factories.paid_purchase(buyer_sub="b2", buyer_email="b2@example.com", plan="team", quantity=1)
    g.invite(team, "ann@example.com", as_=B2)
    assert g.accept(g.link(team, "0001"), ANN)[0] == 200
    pro = factories.paid_purchase(quantity=3)
    assert g.invite(pro, "Ann@Example.com")[0] == 201
    return team, pro


def _balance(stripe: FakeStripe) -> list[dict[str, Any]]:
    return stripe.stripe.all("customer_balance_transaction")


def test_given_a_plan_when_accepting_200_days_in_then_rule_8_credit_goes_to_a_new_customer_once(
    gifts: tuple[str, str], stripe: FakeStripe
) -> None:
    team, pro = gifts
    real_clock.freeze(real_clock.now() + timedelta(days=200))  # 165 days left of 365

    status, body = g.accept(g.link(pro, "0001"), ANN)

    assert status == 200
    assert body["credited"] == 10849  # round_half_even(24000 * 165 / 365) = 10849.3
    assert (body["entitlement"]["plan"], body["entitlement"]["source"]) == ("team", "gift")
    seat = g.seat(pro, "0001")
    assert (seat.state, seat.recipient_sub, int(seat.credited), seat.credit_status) == (
        "accepted",
        "ann-sub",
        10849,
        "done",
    )
    [customer] = stripe.stripe.all("customer")
    assert customer["metadata"] == {"account_id": "ann-sub"}
    [txn] = _balance(stripe)
    assert (txn["amount"], txn["currency"], txn["customer"], seat.credit_txn) == (
        -10849,
        "usd",
        customer["id"],
        txn["id"],
    )
    assert customer["balance"] == -10849
    [request] = stripe.to(f"/v1/customers/{customer['id']}/balance_transactions")
    assert request.idempotency_key == f"gift-credit-{pro}-0001"
    profile = m.Profile.get(k.account_pk("ann-sub"), k.PROFILE_SK)
    assert profile.stripe_customer == customer["id"]
    ent = m.Entitlement.get(k.account_pk("ann-sub"), k.ENTITLEMENT_SK)
    assert (ent.purchase_id, ent.seat_id, ent.plan) == (team, "0001", "team")
    assert g.purchase(pro).seat_counts.accepted == 1
    assert "seat.credited" in g.audit_kinds(pro)


def test_given_own_subscription_when_accepting_then_credit_goes_to_the_subscriptions_customer(
    aws: None, clock: object, stripe: FakeStripe
) -> None:
    customer = stripe.stripe.create_customer({"email": "ann@example.com"})
    event = sub_event("created", created=real_clock.epoch(real_clock.now()))
    event["data"]["object"]["customer"] = customer["id"]
    webhooks.handle(event)
    pro = factories.paid_purchase(quantity=1)
    g.invite(pro, "ann@example.com")

    status, body = g.accept(g.link(pro, "0001"), ANN)

    assert (status, body["credited"], body["entitlement"]["source"]) == (200, 24000, "subscription")
    assert len(stripe.stripe.all("customer")) == 1  # no second customer
    [txn] = _balance(stripe)
    assert (txn["customer"], txn["amount"]) == (customer["id"], -24000)
    assert stripe.to("/v1/customers") == stripe.to(f"/v1/customers/{customer['id']}/balance_transactions")


def test_given_no_plan_when_accepting_then_the_gift_is_the_plan_and_stripe_is_not_called(
    aws: None, clock: object, stripe: FakeStripe
) -> None:
    pro = factories.paid_purchase(quantity=1)
    g.invite(pro, "ann@example.com")

    status, body = g.accept(g.link(pro, "0001"), ANN)

    assert (status, body["credited"], body["entitlement"]["source"]) == (200, 0, "gift")
    assert g.seat(pro, "0001").credited is None
    assert stripe.requests == []


def test_given_last_day_when_accepting_with_a_plan_then_410_too_late_and_no_stripe_call(
    gifts: tuple[str, str], stripe: FakeStripe
) -> None:
    """Issue 14: within the term's last 24 hours an invitation is no longer accepted (it was
    accepted, as a credit of 0, up to the last minute before)."""
    _, pro = gifts
    real_clock.freeze(real_clock.parse_iso(g.purchase(pro).term_end) - timedelta(hours=1))

    status, body = g.accept(g.link(pro, "0001"), ANN)

    assert (status, body["error"]["code"]) == (410, "invitation_too_late")
    seat = g.seat(pro, "0001")
    assert (seat.state, seat.credited, seat.credit_status) == ("invited", None, None)
    assert stripe.requests == []


def test_given_subscriber_when_claiming_then_rule_4_still_refuses(
    aws: None, clock: object, stripe: FakeStripe
) -> None:
    pid = factories.paid_purchase(quantity=2)
    webhooks.handle(
        sub_event("created", created=real_clock.epoch(real_clock.now()), metadata={"account_id": g.BUYER})
    )
    status, body = g.claim(pid)
    assert (status, body["error"]["code"]) == (409, "already_subscribed")
    assert g.seat(pid, "0001").state == "available"


def test_given_stripe_down_when_accepting_with_a_plan_then_503_seat_kept_and_a_retry_credits_once(
    gifts: tuple[str, str], stripe: FakeStripe
) -> None:
    _, pro = gifts
    token = g.link(pro, "0001")
    stripe.status = 503

    status, body = g.accept(token, ANN)

    assert (status, body["error"]["code"]) == (503, "credit_unfinished")
    seat = g.seat(pro, "0001")
    assert (seat.state, int(seat.credited), seat.credit_status) == ("accepted", 24000, "pending")
    assert _balance(stripe) == []

    stripe.status = 200
    again = g.accept(token, ANN)

    assert (again[0], again[1]["credited"]) == (200, 24000)
    assert [t["amount"] for t in _balance(stripe)] == [-24000]
    assert g.seat(pro, "0001").credit_status == "done"
    assert g.accept(token, ANN)[0] == 409  # done: a further repeat changes nothing
    assert len(_balance(stripe)) == 1


def test_given_crash_after_stripe_credited_when_retried_then_no_second_credit(
    gifts: tuple[str, str], stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, pro = gifts
    token = g.link(pro, "0001")
    real_touch = transitions.touch

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the Lambda died after Stripe answered")

    monkeypatch.setattr(credits, "touch", crash)
    with pytest.raises(RuntimeError):
        link.accept(token, Caller("ann-sub", "ann@example.com", True))
    assert len(_balance(stripe)) == 1 and g.seat(pro, "0001").credit_status == "pending"
    monkeypatch.setattr(credits, "touch", real_touch)

    status, body = g.accept(token, ANN)

    assert (status, body["credited"]) == (200, 24000)
    assert len(_balance(stripe)) == 1  # Stripe's idempotency key answered the first transaction again
    assert g.seat(pro, "0001").credit_txn == _balance(stripe)[0]["id"]


def test_given_crash_and_a_retry_days_later_when_stripe_forgot_the_key_then_metadata_finds_it(
    gifts: tuple[str, str], stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, pro = gifts
    token = g.link(pro, "0001")
    real_touch = transitions.touch
    monkeypatch.setattr(credits, "touch", lambda *a, **kw: (_ for _ in ()).throw(RuntimeError("crash")))
    with pytest.raises(RuntimeError):
        link.accept(token, Caller("ann-sub", "ann@example.com", True))
    monkeypatch.setattr(credits, "touch", real_touch)
    real_clock.freeze(real_clock.now() + timedelta(days=2))  # past Stripe's 24 hours of key memory

    status, body = g.accept(token, ANN)

    assert (status, body["credited"]) == (200, 24000)  # the amount recorded at accept, not recomputed
    assert len(_balance(stripe)) == 1


@pytest.mark.usefixtures("serializable")
def test_given_two_gifts_when_one_account_accepts_both_at_once_then_one_is_the_plan_one_credited_once(
    stripe: FakeStripe,
) -> None:
    first = factories.paid_purchase(quantity=1)
    second = factories.paid_purchase(buyer_sub="b2", buyer_email="b2@example.com", plan="team", quantity=1)
    g.invite(first, "ann@example.com")
    g.invite(second, "ann@example.com", as_=B2)
    ann = Caller("ann-sub", "ann@example.com", True)

    results = race(
        lambda: link.accept(g.link(first, "0001"), ann), lambda: link.accept(g.link(second, "0001"), ann)
    )

    assert not any(isinstance(r, DomainError) for r in results), results
    assert sorted(r.credited for r in results) == [0, next(r.credited for r in results if r.credited)]
    seats = [g.seat(first, "0001"), g.seat(second, "0001")]
    assert [s.state for s in seats] == ["accepted", "accepted"]
    credited = [s for s in seats if s.credited]
    assert len(credited) == 1 and credited[0].credit_status == "done"
    assert [t["amount"] for t in _balance(stripe)] == [-int(credited[0].credited)]
    ent = m.Entitlement.get(k.account_pk("ann-sub"), k.ENTITLEMENT_SK)
    assert ent.purchase_id != credited[0].purchase_id
