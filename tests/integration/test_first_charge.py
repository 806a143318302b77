"""Entitlement `first_charge` {at, amount, currency}: what a renewed or upgraded subscription bills next.

A trialing renewal is first charged at its trial's end (the gift's term end); an active one at its
period's end; the amount is the item's price times its quantity. A subscription set to cancel,
or ended, has none, and neither has a gift or a claim.
"""

from __future__ import annotations

from typing import Any

import pytest
from giftplans import clock as real_clock
from giftplans import upgrades, webhooks
from giftplans.stripe_facts import UpgradeCompletion

from tests.integration.test_subscriptions import PERIOD_END, sub_event
from tests.support import factories
from tests.support.apigw import call, claims, http_event
from tests.support.stripe_fake import FakeStripe
from tests.support.upgrade_steps import holder

pytestmark = pytest.mark.usefixtures("aws", "clock")

RITA = claims("rita", "rita@example.com")
ANN = claims("ann-sub", "ann@example.com")


def entitlement(who: dict[str, str]) -> dict[str, Any]:
    status, body = call("me_api", http_event("GET", "/me/entitlement", claims=who))
    assert status == 200, body
    return body


def priced(event: dict[str, Any], *, unit_amount: int = 24000, quantity: int = 1) -> dict[str, Any]:
    item = event["data"]["object"]["items"]["data"][0]
    item["price"].update({"unit_amount": unit_amount, "currency": "usd"})
    item["quantity"] = quantity
    return event


def test_given_a_gift_renewed_through_the_local_stripe_then_the_first_charge_is_the_price_at_the_gifts_end(
    clock: Any, stripe: FakeStripe
) -> None:
    purchase_id = factories.paid_purchase(plan="pro", quantity=1)
    seat = holder(purchase_id, 1, "rita", "rita@example.com")
    clock.advance(days=300)
    status, body = call(
        "upgrades_api", http_event("POST", "/me/renewal/checkout", body={"plan": "team"}, claims=RITA)
    )
    assert status == 201, body

    for event in stripe.stripe.complete(body["session_id"]):
        webhooks.handle(event)

    shown = entitlement(RITA)
    from giftplans.settings import get as settings

    team = settings().known_plan("team")
    assert shown["source"] == "subscription" and shown["auto_renew"] is True
    assert shown["first_charge"] == {"at": seat.term_end, "amount": team.amount, "currency": team.currency}


def test_given_an_active_subscription_then_first_charge_at_its_period_end_for_price_times_quantity(
    clock: Any,
) -> None:
    webhooks.handle(priced(sub_event("created", created=real_clock.epoch(real_clock.now())), quantity=2))

    assert entitlement(ANN)["first_charge"] == {
        "at": real_clock.iso(real_clock.from_epoch(PERIOD_END)),
        "amount": 48000,
        "currency": "usd",
    }


def test_given_a_trialing_subscription_then_first_charge_at_the_trials_end(clock: Any) -> None:
    event = priced(sub_event("created", created=real_clock.epoch(real_clock.now()), status="trialing"))
    event["data"]["object"]["trial_end"] = PERIOD_END - 3600

    assert entitlement(ANN)["first_charge"] is None  # nothing before the event
    webhooks.handle(event)

    assert entitlement(ANN)["first_charge"]["at"] == real_clock.iso(real_clock.from_epoch(PERIOD_END - 3600))


def test_given_the_subscription_set_to_cancel_then_no_first_charge(clock: Any) -> None:
    now = real_clock.epoch(real_clock.now())
    webhooks.handle(priced(sub_event("created", created=now)))
    assert entitlement(ANN)["first_charge"] is not None

    webhooks.handle(priced(sub_event("updated", created=now + 5, cancel_at_period_end=True)))

    shown = entitlement(ANN)
    assert (shown["active"], shown["auto_renew"], shown["first_charge"]) == (True, False, None)


def test_given_the_subscription_deleted_then_no_first_charge(clock: Any) -> None:
    now = real_clock.epoch(real_clock.now())
    webhooks.handle(priced(sub_event("created", created=now)))

    webhooks.handle(priced(sub_event("deleted", created=now + 5, status="canceled")))

    assert entitlement(ANN)["first_charge"] is None


def test_given_an_upgrade_before_stripes_events_then_first_charge_is_the_plans_price_a_year_on(
    clock: Any,
) -> None:
    from giftplans import terms
    from giftplans.settings import get as settings

    pid = factories.paid_purchase(quantity=1)
    holder(pid, 1, "rita", "rita@example.com")
    at = real_clock.now()
    upgrades.complete(UpgradeCompletion("rita", pid, "0001", "team", "sub_new", None), at)

    team = settings().known_plan("team")
    assert entitlement(RITA)["first_charge"] == {
        "at": real_clock.iso(terms.term_end(at)),
        "amount": team.amount,
        "currency": team.currency,
    }


def test_given_a_gift_or_a_claim_then_no_first_charge() -> None:
    pid = factories.paid_purchase(quantity=1)
    holder(pid, 1, "rita", "rita@example.com")

    shown = entitlement(RITA)
    assert (shown["source"], shown["first_charge"]) == ("gift", None)
