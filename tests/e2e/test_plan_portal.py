"""My plan as a customer portal, in a real browser (issues 17, 18 and 19).

A recipient renews her gift: My plan says the payment went through, shows the first charge
(when, in the reader's zone with UTC, and how much) and "Manage billing", which opens the local
Stripe's customer portal. A cancelled checkout reads as a neutral note. As a subscriber she
accepts a second gift: the accept page says it was added as a credit, in money words. Another
recipient's gift nears its end: an ending-soon banner. And My plan in German.

Each step is read at 1280 and 390 px with axe-core (0 serious or critical violations), through
`Walk.step` of the browser walk (tests/support/browser.py). The local server runs with its
address space capped (tests/e2e/conftest.py; Chromium is not: it crashes under `ulimit -v`).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from giftplans.purchases import purchase_id_for
from playwright.sync_api import expect

from tests.support.browser import Walk, api_buy, move_clock, parse, reader_day, reader_time, web_token
from tests.support.local_server import Server

pytestmark = pytest.mark.e2e

BUYER = "portal.buyer@example.com"
RITA = "rita.portal@example.com"
SAM = "sam.portal@example.com"


def gift_to(svc: Server, email: str, quantity: int) -> str:
    """A paid Pro purchase by BUYER (through the API), one seat invited to `email`; the purchase id.

    Each gift has its own quantity: a repeat of the same checkout within a minute is the same session.
    """
    buyer, session_id = api_buy(svc, BUYER, quantity)
    purchase_id = purchase_id_for(session_id)  # two purchases may share a second
    svc.ok(svc.post(f"/purchases/{purchase_id}/invitations", {"invitations": [{"email": email}]}, buyer), 201)
    return purchase_id


def accept_from_mail(walk: Walk, email: str) -> None:
    walk.open_from_mail(email, "/accept?token=")
    walk.page.locator("#sign-in-to-accept, #accept").first.wait_for()  # the invitation has loaded
    if walk.page.locator("#sign-in-to-accept").count():
        walk.sign_in(email)
    walk.page.click("#accept")
    expect(walk.page.locator("#accepted")).to_be_visible()


def test_given_a_renewal_when_paid_then_my_plan_shows_the_first_charge_and_manage_billing_opens_the_portal(
    walk: Walk,
) -> None:
    page, url, svc = walk.page, walk.url, walk.server
    purchase_id = gift_to(svc, RITA, quantity=1)
    term_end = svc.ok(svc.get(f"/purchases/{purchase_id}", token=web_token(svc, BUYER)))["purchase"][
        "term_end"
    ]
    accept_from_mail(walk, RITA)

    page.goto(f"{url}/plan")
    expect(page.locator("button.primary")).to_have_count(1)  # one clear choice
    walk.click_and_land("#continue-plan", r"/_local/pay/")
    walk.pay()
    page.wait_for_url(re.compile(r"/plan"))
    walk.step(
        "portal-renewed",
        (page.locator("#checkout-done"), "Your payment went through."),
        (
            page.locator("#checkout-result"),
            f"Your first payment, $240.00, is taken on {reader_day(term_end)}.",
        ),
        (page.locator("#source"), "Your subscription"),
        (page.locator("#first-charge-at"), reader_time(term_end)),  # the reader's zone, UTC named
        (page.locator("#first-charge-amount"), "$240.00"),
        (page.locator("#manage-billing"), "Manage billing"),
    )

    walk.click_and_land("#manage-billing", r"/_local/portal/")
    expect(page.get_by_role("heading", name="Billing portal")).to_be_visible()
    expect(page.locator("body")).to_contain_text("Trial ends")


def test_given_a_cancelled_checkout_when_back_on_my_plan_then_a_neutral_note(walk: Walk) -> None:
    page, url = walk.page, walk.url
    page.goto(f"{url}/plan")
    walk.sign_in(RITA)
    page.goto(f"{url}/plan?checkout=cancelled")
    walk.step(
        "portal-cancelled",
        (page.locator("#checkout-cancelled"), "nothing was charged, and your plan is as it was"),
    )
    expect(page.locator("#checkout-done")).to_have_count(0)
    expect(page).to_have_url(f"{url}/plan")  # the note is not repeated on reload


def test_given_a_subscriber_when_accepting_a_gift_then_it_reads_as_a_credit_in_money(walk: Walk) -> None:
    page, svc = walk.page, walk.server
    purchase_id = gift_to(svc, RITA, quantity=2)
    accept_from_mail(walk, RITA)

    seat = svc.ok(svc.get(f"/purchases/{purchase_id}", token=web_token(svc, BUYER)))["seats"][0]
    credited = int(seat["credited"])
    assert credited > 0
    walk.step(
        "accept-credited",
        (
            page.locator("#credited"),
            f"your gift of the Pro plan from {BUYER} was added as a credit of "
            f"${credited / 100:,.2f} to your account",
        ),
    )


def test_given_a_gift_twenty_days_from_its_end_when_my_plan_read_then_an_ending_soon_banner(
    walk: Walk,
) -> None:
    page, url, svc = walk.page, walk.url, walk.server
    purchase_id = gift_to(svc, SAM, quantity=3)
    accept_from_mail(walk, SAM)
    term_end = svc.ok(svc.get(f"/purchases/{purchase_id}", token=web_token(svc, BUYER)))["purchase"][
        "term_end"
    ]

    move_clock(svc, parse(term_end) - timedelta(days=20))
    page.goto(f"{url}/plan")
    walk.step(
        "portal-ending-soon",
        (page.locator("#ending-soon"), f"Your Pro plan ends in 20 days, on {reader_day(term_end)}."),
        (page.locator("#days-left"), "20 days"),
        (page.locator("#continue-plan"), "Renew as Pro"),
    )
    expect(page.locator("button.primary")).to_have_count(1)


def test_given_german_when_my_plan_read_then_every_word_is_german(walk: Walk) -> None:
    page, url = walk.page, walk.url
    page.goto(f"{url}/plan")
    walk.sign_in(RITA)
    page.select_option("#language", "de")
    page.wait_for_load_state("load")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    walk.step(
        "portal-german",
        (page.locator("h1"), "Mein Abo"),
        (page.locator("#source"), "Ihr eigenes Abonnement"),
        (page.locator("#first-charge"), "Erste Abbuchung am"),
        (page.locator("#first-charge-amount"), "240,00\N{NO-BREAK SPACE}$"),
        (page.locator("#manage-billing"), "Zahlungen verwalten"),
    )
    body = page.locator("#content").inner_text()
    for english in ("Manage billing", "First charge", "Your subscription", "Renews"):
        assert english not in body
