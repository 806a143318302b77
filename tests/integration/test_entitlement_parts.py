"""The entitlement's two parts: a gift or claim and the own subscription never overwrite each other."""

from __future__ import annotations

from datetime import timedelta

import pytest
from giftplans import clock as real_clock
from giftplans import entitlements, upgrades, webhooks
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.stripe_facts import UpgradeCompletion

from tests.integration.test_subscriptions import sub_event
from tests.support import factories
from tests.support import gifts as g
from tests.support.upgrade_steps import holder

ANN = g.who("ann-sub", "ann@example.com")
BUYER_SUB = {"account_id": g.BUYER}


@pytest.fixture
def t0(aws: None, clock: object) -> int:
    return real_clock.epoch(real_clock.now())


def accepted_gift() -> str:
    pid = factories.paid_purchase(quantity=1)
    g.invite(pid, "ann@example.com")
    assert g.accept(g.link(pid, "0001"), ANN)[0] == 200
    return pid


def test_given_gift_holder_when_own_subscription_bought_then_cancelled_then_gift_active_until_term_end(
    t0: int,
) -> None:
    pid = accepted_gift()
    webhooks.handle(sub_event("created", created=t0 + 1, price="price_team_yearly"))
    assert (g.entitlement(ANN)[1]["source"], g.entitlement(ANN)[1]["plan"]) == ("subscription", "team")

    webhooks.handle(sub_event("deleted", created=t0 + 2, status="canceled", price="price_team_yearly"))

    body = g.entitlement(ANN)[1]
    term_end = g.purchase(pid).term_end
    assert (body["active"], body["source"], body["plan"], body["term_end"]) == (True, "gift", "pro", term_end)
    real_clock.freeze(real_clock.parse_iso(term_end) + timedelta(seconds=1))
    assert g.entitlement(ANN)[1]["active"] is False


def test_given_claim_when_subscribed_cancelled_and_claimed_again_then_409_one_claim_at_a_time(
    t0: int,
) -> None:
    factories.paid_purchase(quantity=1)
    first, second = factories.paid_purchase(quantity=2), factories.paid_purchase(quantity=2)
    assert g.claim(first)[0] == 200
    webhooks.handle(sub_event("created", created=t0 + 1, metadata=BUYER_SUB))
    webhooks.handle(sub_event("deleted", created=t0 + 2, status="canceled", metadata=BUYER_SUB))

    status, body = g.claim(second)

    assert (status, body["error"]["code"]) == (409, "already_subscribed")
    assert g.purchase(second).seat_counts.claimed == 0
    assert g.entitlement(g.who())[1]["source"] == "claim"


def test_given_active_gift_when_deleted_arrives_before_created_then_gift_stays_and_subscription_stays_ended(
    t0: int,
) -> None:
    accepted_gift()
    webhooks.handle(sub_event("deleted", created=t0 + 10, status="canceled"))

    webhooks.handle(sub_event("created", created=t0 + 5, price="price_team_yearly"))

    body = g.entitlement(ANN)[1]
    assert (body["active"], body["source"], body["plan"]) == (True, "gift", "pro")
    ent = m.Entitlement.get(k.account_pk("ann-sub"), k.ENTITLEMENT_SK)
    assert (ent.sub_status, int(ent.event_ts)) == ("ended", t0 + 10)


@pytest.mark.parametrize("kind", ["updated", "deleted"])
def test_given_provisional_upgrade_when_an_older_subscriptions_late_event_arrives_then_it_is_kept(
    t0: int, kind: str
) -> None:
    rita = {"account_id": "rita"}
    pid = factories.paid_purchase(quantity=1)
    holder(pid, 1, "rita", "rita@example.com")
    webhooks.handle(sub_event("created", created=t0 - 100, subscription_id="sub_old", metadata=rita))
    webhooks.handle(
        sub_event("deleted", created=t0 - 50, status="canceled", subscription_id="sub_old", metadata=rita)
    )
    upgrades.complete(UpgradeCompletion("rita", pid, "0001", "team", "sub_new", None), real_clock.now())

    status = "canceled" if kind == "deleted" else "active"
    webhooks.handle(sub_event(kind, created=t0 - 10, status=status, subscription_id="sub_old", metadata=rita))

    ent = m.Entitlement.get(k.account_pk("rita"), k.ENTITLEMENT_SK)
    assert (ent.subscription_id, ent.sub_plan, ent.sub_status, ent.sub_provisional) == (
        "sub_new",
        "team",
        "active",
        True,
    )
    assert ent.ended is True  # the upgraded gift's part


def test_given_provisional_upgrade_when_its_own_subscription_event_arrives_then_it_refines_it(
    t0: int,
) -> None:
    pid = factories.paid_purchase(quantity=1)
    holder(pid, 1, "rita", "rita@example.com")
    upgrades.complete(UpgradeCompletion("rita", pid, "0001", "team", "sub_new", None), real_clock.now())

    webhooks.handle(
        sub_event("created", created=t0 + 5, subscription_id="sub_new", metadata={"account_id": "rita"})
    )

    ent = m.Entitlement.get(k.account_pk("rita"), k.ENTITLEMENT_SK)
    assert (ent.subscription_id, ent.sub_plan, ent.sub_provisional, int(ent.event_ts)) == (
        "sub_new",
        "pro",
        None,
        t0 + 5,
    )


def test_given_subscriber_when_claiming_then_409_and_nothing_written(t0: int) -> None:
    # Accepting as a subscriber is a credit now (SPEC 8.5, tests/integration/test_accept_credit.py).
    pid = factories.paid_purchase(quantity=2)
    factories.paid_purchase(quantity=1)
    webhooks.handle(sub_event("created", created=t0, metadata=BUYER_SUB))

    claimed = g.claim(pid)

    assert (claimed[0], claimed[1]["error"]["code"]) == (409, "already_subscribed")
    assert (g.seat(pid, "0001").state, g.seat(pid, "0002").state) == ("available", "available")
    assert g.entitlement(g.who())[1]["source"] == "subscription"


def test_given_active_gift_when_refused_as_already_subscribed_then_sentence_names_plan_and_end_for_people():
    clock = real_clock
    item = m.Entitlement(
        k.account_pk("reader-1"),
        k.ENTITLEMENT_SK,
        sub="reader-1",
        plan="pro",
        source="gift",
        term_end="2027-03-01T12:00:00Z",
        term_end_ts=clock.epoch(clock.parse_iso("2027-03-01T12:00:00Z")),
        updated_at="2026-03-01T12:00:00Z",
    )
    clock.freeze(clock.parse_iso("2026-06-01T00:00:00Z"))
    try:
        refusal = entitlements.already_subscribed(item)
    finally:
        clock.reset()

    assert refusal.message.startswith("This account already has the Pro plan until 1 March 2027 at 12:00 UTC")
    assert refusal.details == {"plan": "pro", "term_end": "2027-03-01T12:00:00Z"}
