"""SPEC 8.8: a renewing subscription stays active for `GraceDays` past its period end, then reads inactive."""

from __future__ import annotations

from typing import Any

import pytest
from giftplans import clock as real_clock
from giftplans import settings as settings_module
from giftplans import webhooks

from tests.integration.test_renewals import RECIPIENT, RECIPIENT_EMAIL, gifted_pro_seat, renew
from tests.integration.test_subscriptions import PERIOD_END, sub_event
from tests.support import gifts as g
from tests.support.stripe_fake import FakeStripe

pytestmark = pytest.mark.usefixtures("aws", "clock")
ANN = g.who("ann-sub", "ann@example.com")
DAY = 86400


def at(epoch: int) -> None:
    real_clock.freeze(real_clock.from_epoch(epoch))


def entitlement(who: dict[str, str] = ANN) -> dict[str, Any]:
    status, body = g.entitlement(who)
    assert status == 200
    return body


def test_given_renewing_subscription_when_its_period_ended_2_days_ago_then_active_until_the_grace_ends() -> (
    None
):
    webhooks.handle(sub_event("created", created=real_clock.epoch(real_clock.now())))

    at(PERIOD_END + 2 * DAY)
    within = entitlement()
    at(PERIOD_END + 3 * DAY)
    past = entitlement()

    assert (within["active"], within["source"], within["auto_renew"]) == (True, "subscription", True)
    assert within["grace_until"] == real_clock.iso(real_clock.from_epoch(PERIOD_END + 3 * DAY))
    assert past["active"] is False and past["grace_until"] is None


def test_given_cancel_at_period_end_when_the_period_ended_then_no_grace() -> None:
    webhooks.handle(
        sub_event("created", created=real_clock.epoch(real_clock.now()), cancel_at_period_end=True)
    )

    at(PERIOD_END - 1)
    before = entitlement()
    at(PERIOD_END + 1)

    assert before["active"] is True and before["grace_until"] is None
    assert entitlement()["active"] is False


def test_given_grace_days_0_when_the_period_ended_then_inactive_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRACE_DAYS", "0")
    settings_module.get.cache_clear()
    try:
        webhooks.handle(sub_event("created", created=real_clock.epoch(real_clock.now())))
        at(PERIOD_END + 60)
        assert entitlement()["active"] is False
    finally:
        settings_module.get.cache_clear()


def test_given_subscriber_in_grace_when_accepting_a_gift_then_it_is_a_credit(stripe: FakeStripe) -> None:
    from tests.support import factories

    customer = stripe.stripe.create_customer({"email": "ann@example.com"})
    event = sub_event("created", created=real_clock.epoch(real_clock.now()))
    event["data"]["object"]["customer"] = customer["id"]
    webhooks.handle(event)
    pid = factories.paid_purchase(quantity=1)
    g.invite(pid, "ann@example.com")
    at(PERIOD_END + DAY)

    status, body = g.accept(g.link(pid, "0001"), ANN)

    assert (status, body["entitlement"]["source"]) == (200, "subscription")
    assert body["credited"] > 0


def test_given_local_stripe_renewal_when_its_event_is_late_then_grace_holds_and_the_renewal_extends(
    stripe: FakeStripe,
) -> None:
    _, seat = gifted_pro_seat()
    who = g.who(RECIPIENT, RECIPIENT_EMAIL)
    at(int(seat.term_end_ts) - 10 * DAY)
    assert renew("pro")[0] == 201
    [session] = stripe.stripe.all("checkout.session")
    for event in stripe.stripe.complete(session["id"]):
        webhooks.handle(event)
    trialing = entitlement(who)
    assert (trialing["source"], trialing["term_end"]) == ("subscription", seat.term_end)

    at(int(seat.term_end_ts) + 2 * DAY)  # the trial ended; Stripe's update has not arrived yet
    late = entitlement(who)
    renewals = stripe.stripe.advance(real_clock.epoch(real_clock.now()))
    for event in renewals:
        webhooks.handle(event)
    renewed = entitlement(who)

    assert (late["active"], late["source"]) == (True, "subscription")
    assert any(e["type"] == "customer.subscription.updated" for e in renewals)
    assert renewed["active"] is True and renewed["term_end"] > seat.term_end
    at(int(seat.term_end_ts) + 4 * DAY)
    assert entitlement(who)["active"] is True  # renewed: no longer in grace


def test_given_local_stripe_renewal_never_delivered_when_the_grace_passes_then_inactive(
    stripe: FakeStripe,
) -> None:
    _, seat = gifted_pro_seat()
    who = g.who(RECIPIENT, RECIPIENT_EMAIL)
    at(int(seat.term_end_ts) - 10 * DAY)
    renew("pro")
    [session] = stripe.stripe.all("checkout.session")
    for event in stripe.stripe.complete(session["id"]):
        webhooks.handle(event)

    at(int(seat.term_end_ts) + 3 * DAY + 1)

    assert entitlement(who)["active"] is False
