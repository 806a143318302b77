"""Support's upgrade offer (issue 14 item 8): a link to the service, usable 7 days, quoted on each click."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from giftplans import clock as real_clock
from giftplans import money
from giftplans.outbox import rendering
from giftplans.outbox.notices import notices_for

from tests.support.apigw import call, http_event
from tests.support.factories import paid_purchase
from tests.support.streams import record
from tests.support.stripe_fake import FakeStripe
from tests.support.upgrade_steps import deliver, holder, seats

pytestmark = pytest.mark.usefixtures("aws", "clock")

RECIPIENT, RECIPIENT_EMAIL = "recipient-1", "rita@example.com"
SUPPORT_ARN = "arn:aws:sts::000000000000:assumed-role/gift-plans-support/support"


def offer(purchase_id: str, plan: str = "team") -> tuple[int, Any]:
    body = {"purchase_id": purchase_id, "seat_id": "0001", "plan": plan}
    return call("admin_api", http_event("POST", "/admin/upgrades", body=body, iam_arn=SUPPORT_ARN))


def click(token: str) -> tuple[int, Any]:
    """The page's request when the recipient opens the link: no sign-in."""
    return call("upgrades_api", http_event("POST", "/upgrade-offers/checkout", body={"offer": token}))


def token_of(url: str) -> str:
    return parse_qs(urlparse(url).query)["offer"][0]


def offered(clock: Any, days: int = 100) -> tuple[str, str, dict[str, Any]]:
    """A Pro gift held by the recipient since 2026-03-01; support offers Team `days` later."""
    purchase_id = paid_purchase(plan="pro", quantity=1, unit_amount=24000)
    holder(purchase_id, 1, RECIPIENT, RECIPIENT_EMAIL)
    clock.advance(days=days)
    status, body = offer(purchase_id)
    assert status == 201, body
    return purchase_id, token_of(body["offer_url"]), body


def completed(form: dict[str, str]) -> dict[str, Any]:
    from tests.integration.test_upgrades import completed_upgrade_event

    return completed_upgrade_event(form)


def test_given_an_offer_when_opened_within_7_days_then_a_checkout_and_after_that_410(
    clock, stripe: FakeStripe
) -> None:
    _, token, body = offered(clock)
    assert body["offer_until"] == real_clock.iso(clock.now + timedelta(days=7))

    clock.advance(days=6, hours=23)
    status, opened = click(token)
    assert status == 201, opened
    assert opened["url"] and opened["quote"]["plan"] == "team"

    clock.advance(hours=1)
    status, late = click(token)
    assert status == 410 and late["error"]["code"] == "offer_expired"
    assert "ask support for a new link" in late["error"]["message"]
    assert len(stripe.to("/v1/checkout/sessions")) == 1  # nothing made for an ended offer


def test_given_an_offer_when_opened_days_later_then_the_quote_is_the_day_of_the_click(
    clock, stripe: FakeStripe
) -> None:
    purchase_id, token, body = offered(clock)
    at_offer = body["quote"]

    clock.advance(days=3)
    status, opened = click(token)

    assert status == 201, opened
    seat = seats(purchase_id)["0001"]
    fresh = money.quote(
        24000,
        real_clock.parse_iso(seat.term_start),
        real_clock.parse_iso(seat.term_end),
        clock.now,
        at_offer["target_price"],
    )
    assert opened["quote"]["credit"] == fresh.credit < at_offer["credit"]
    assert opened["quote"]["amount_due"] == fresh.amount_due > at_offer["amount_due"]
    [coupon] = stripe.to("/v1/coupons")
    assert coupon.form["amount_off"] == str(fresh.credit)
    session = stripe.to("/v1/checkout/sessions")[0].form
    assert (session["metadata[account_id]"], session["metadata[credit]"]) == (RECIPIENT, str(fresh.credit))


def test_given_an_offer_when_clicked_twice_before_paying_then_both_reach_checkout(
    clock, stripe: FakeStripe
) -> None:
    _, token, _ = offered(clock)
    first = click(token)
    clock.advance(hours=2)  # the first session has died by now: the link still works
    second = click(token)
    assert (first[0], second[0]) == (201, 201)
    assert len(stripe.to("/v1/checkout/sessions")) == 2


def test_given_an_offer_when_clicked_again_after_paying_then_410_offer_used(
    clock, stripe: FakeStripe
) -> None:
    purchase_id, token, _ = offered(clock)
    assert click(token)[0] == 201
    status, paid = deliver(completed(stripe.to("/v1/checkout/sessions")[0].form))
    assert status == 200, paid
    assert seats(purchase_id)["0001"].state == "upgraded"

    status, again = click(token)

    assert status == 410 and again["error"]["code"] == "offer_used"
    assert len(stripe.to("/v1/checkout/sessions")) == 1


def test_given_a_link_not_ours_when_opened_then_one_404(clock, stripe: FakeStripe) -> None:
    _, token, _ = offered(clock)
    pid, seat_id, plan, until, tag = token.split(".", 4)  # the tag is `<kid>.<mac>` (key ring)
    forged = [
        "nonsense",
        f"{pid}.{seat_id}.enterprise.{until}.{tag}",  # another plan
        f"{pid}.{seat_id}.{plan}.{int(until) + 86400}.{tag}",  # a longer life
        f"{pid}.0002.{plan}.{until}.{tag}",  # another seat
        f"{pid}.{seat_id}.{plan}.{until}.{'A' * 22}",  # a guessed tag
        f"{pid}.{seat_id}.{plan}.{until}.k0.{'A' * 22}",  # a guessed tag with a kid
        f"{pid}.{seat_id}.{plan}.{until}.k9.{tag.split('.', 1)[1]}",  # a kid not in the ring
    ]
    for text in forged:
        status, body = click(text)
        assert (status, body["error"]["code"]) == (404, "offer_not_found"), text
    assert stripe.to("/v1/checkout/sessions") == []


def test_given_a_term_ending_within_7_days_when_offered_then_the_offer_ends_with_it(
    clock, stripe: FakeStripe
) -> None:
    purchase_id = paid_purchase(plan="pro", quantity=1, unit_amount=24000)
    seat = holder(purchase_id, 1, RECIPIENT, RECIPIENT_EMAIL)
    clock.set(real_clock.parse_iso(seat.term_end) - timedelta(days=2))

    status, body = offer(purchase_id)

    assert status == 201, body
    assert body["offer_until"] == seat.term_end


def test_given_a_lower_tier_when_support_offers_it_then_409_and_nothing_mailed(
    clock, stripe: FakeStripe
) -> None:
    purchase_id = paid_purchase(plan="pro", quantity=1, unit_amount=24000)
    holder(purchase_id, 1, RECIPIENT, RECIPIENT_EMAIL)

    status, body = offer(purchase_id, plan="connect")

    assert status == 409 and body["error"]["code"] == "not_an_upgrade"
    assert seats(purchase_id)["0001"].upgrade_offer_url is None


@pytest.mark.parametrize(
    ("locale", "until_words"),
    [("en", "8 June 2026"), ("de", "8. Juni 2026")],
)
def test_given_an_offer_when_mailed_then_the_email_says_until_when_in_the_readers_language(
    clock, stripe: FakeStripe, locale: str, until_words: str
) -> None:
    purchase_id = paid_purchase(plan="pro", quantity=1, unit_amount=24000)
    before = holder(purchase_id, 1, RECIPIENT, RECIPIENT_EMAIL)
    before.update(actions=[type(before).recipient_locale.set(locale)])
    before = seats(purchase_id)["0001"]
    clock.advance(days=92)  # 2026-06-01 12:00 UTC: the offer works until 2026-06-08
    status, body = offer(purchase_id)
    assert status == 201, body

    [notice] = [n for n in notices_for(record(before, seats(purchase_id)["0001"])) if n.email]
    assert notice.email is not None and notice.email.params["offer_until"] == body["offer_until"]
    mail = rendering.render("upgrade_offer", notice.email.params)

    assert until_words in mail.text and until_words in mail.html
    assert body["offer_url"] in mail.text
    assert "offer=" in mail.html and "checkout.stripe" not in mail.text
