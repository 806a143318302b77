"""The walk's last steps in one browser page (issue 18, acceptance 1): upgrade, renew, term end, refund.

A buyer buys three Pro plans through the plan picker and the local Stripe pay page (which names
the plan, not a price id, and has a way back). Alice accepts hers and upgrades from My plan with
the credit quote, through the pay page back to My plan; Carol accepts and renews. Then the clock
passes the term's end and the sweep runs: the upgraded and the renewed still read their plans (not
"You have no active plan"), Billing reads the purchase ended (its status Ended, not Paid; no days
left). A second purchase is refunded in full by support (the local Stripe's `charge.refunded`):
Billing reads refunded, not "Paid". Last, the API docs "Try it out" against this server's port.

One server (address space capped, tests/e2e/conftest.py's) and one page for the
module; the tests run in file order, each going on from the one before. Every step is read at 1280
and 390 px with axe-core (0 serious or critical violations) through `Walk.step`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.support.browser import (
    TIMEOUT_MS,
    TIMES,
    Checked,
    Walk,
    api_buy,
    move_clock,
    parse,
    purchase_of,
    reader_day,
    reader_page,
    walking,
)
from tests.support.local_server import Server

pytestmark = pytest.mark.e2e

BUYER = "journey.buyer@example.com"
ALICE = "alice.journey@example.com"
CAROL = "carol.journey@example.com"
MESSAGE = "Happy birthday, Alice!"
AXE_FILE = "axe-journey-end.json"  # web/screenshots/ (tests/e2e/conftest.py)


@pytest.fixture(scope="module")
def page(browser: Browser) -> Iterator[Page]:
    with reader_page(browser) as opened:
        yield opened


@pytest.fixture(scope="module")
def walk(page: Page, server: Server, checked: Checked) -> Iterator[Walk]:
    with walking(page, server, checked) as walked:
        yield walked


def sign_in(walk: Walk, email: str, verified: bool = True) -> None:
    """`Walk.sign_in` once the header has drawn its account part (signed in or not)."""
    walk.page.locator("#sign-out, #signin-email").first.wait_for()
    walk.sign_in(email, verified=verified)


def loading_reads(walk: Walk, address: re.Pattern[str], sentence: str) -> None:
    """Reload with the request to `address` held: the page says it is loading, then goes on."""
    page = walk.page
    held: list[Route] = []
    released = False

    def hold(route: Route) -> None:
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route(address, hold)
    page.reload()
    for _ in range(400):
        if held:
            break
        page.wait_for_timeout(25)
    assert held, f"the page asked for {address.pattern}"
    expect(page.locator("#content .loading")).to_have_text(sentence)
    released = True
    for route in held:
        route.continue_()
    page.unroute(address)


def accept(walk: Walk, email: str) -> None:
    walk.open_from_mail(email, "/accept?token=")
    walk.page.locator("#sign-in-to-accept, #accept").first.wait_for()
    sign_in(walk, email)  # the page is shared: whoever was signed in before, sign in as the recipient
    walk.page.click("#accept")
    expect(walk.page.locator("#accepted")).to_be_visible()


def test_given_a_buyer_when_paying_on_the_local_pay_page_then_it_names_the_plan_and_has_a_way_back(
    walk: Walk,
) -> None:
    page, url = walk.page, walk.url
    page.goto(f"{url}/")
    sign_in(walk, BUYER)
    page.check("#for-others")
    page.check("#plan-pro")
    page.fill("#quantity", "3")
    # The server's first checkout starts its function (slow on a busy machine): give it time.
    page.click("#buy")
    page.wait_for_url(re.compile(r"/_local/pay/"), timeout=4 * TIMEOUT_MS)
    walk.step(
        "journey-pay",
        (page.locator("h1"), "Local Stripe Checkout"),
        (page.locator("table"), "Pro plan for 1 year, for others"),
        (page.locator("table"), "Total due today720.00 USD"),
    )
    expect(page.locator("body")).not_to_contain_text("price_")  # no raw price ids
    back = page.locator("#back")
    expect(back).to_be_visible()
    assert (back.get_attribute("href") or "").startswith(url), "the way back leads to the site"
    walk.pay()
    purchase = page.locator("section.purchase").first
    walk.step(
        "journey-paid",
        (page.locator("#checkout-result"), "Thank you: your payment arrived"),
        (purchase.locator("h2"), f"Pro {TIMES} 3"),
        (purchase.locator(".badge.paid"), "Paid"),
    )

    # Invite a list with a message; the same address again is refused in words, not "seat(s)".
    emails = purchase.get_by_label("Email addresses")
    send = purchase.get_by_role("button", name="Send invitations")
    emails.fill(f"{ALICE}\n{CAROL}")
    purchase.get_by_label("Personal message (optional)").fill(MESSAGE)
    send.click()
    expect(purchase.locator(".purchase-status")).to_contain_text(f"Invited 2 people: {ALICE} and {CAROL}.")
    emails.fill(ALICE)
    send.click()
    walk.step(
        "journey-invite-duplicate",
        (
            purchase.locator(".invite-form .action-error"),
            "1 address already holds a seat of this purchase; nothing was sent.",
        ),
    )


def test_given_a_gift_when_upgrading_from_my_plan_with_credit_then_back_on_my_plan_on_team(
    walk: Walk,
) -> None:
    page, url, svc = walk.page, walk.url, walk.server
    term_end = purchase_of(svc, BUYER)["term_end"]
    page.click("#sign-out")
    walk.open_from_mail(ALICE, "/accept?token=")
    loading_reads(walk, re.compile(r"/invitations/[^/]+$"), "Loading your invitation…")
    # Signed out: from whom (in full), the buyer's message, which address to use, and a way to sign in.
    walk.step(
        "journey-accept-signed-out",
        (page.locator("#sender"), BUYER),
        (page.locator("#personal-message"), MESSAGE),
        (page.locator("#signin-prompt"), "Sign in with the email address this invitation was sent to"),
        (page.locator("#sign-in-to-accept"), "Sign in to accept"),
    )
    # Signed in with the invited address but not verified: verify from here; the email fits a recipient.
    sign_in(walk, ALICE, verified=False)
    page.click("#accept")
    refusal = page.locator(".accept-actions .action-error")
    walk.step("journey-accept-unverified", (refusal, f"Verify {ALICE} to accept"))
    expect(refusal).not_to_contain_text("sign in with the invited address")
    refusal.get_by_role("button", name="Email me a verification link").click()
    expect(refusal.locator(".verify-sent")).to_contain_text(f"We sent a link to {ALICE}")
    walk.open_from_mail(ALICE, "/verify?token=")
    mailed = " ".join(m.get("text") or "" for m in svc.mail(ALICE))
    assert "to accept a plan given to you" in mailed, mailed
    page.click("#confirm")
    walk.click_and_land("#after-verify", r"/accept$")
    page.click("#accept")
    walk.step(
        "journey-accepted",
        (page.locator("#accepted"), f"Your Pro plan is active until {reader_day(term_end)}"),
    )

    # Upgrade now, with the credit for the days left of the gift; while My plan loads, it says so.
    page.goto(f"{url}/plan")
    loading_reads(walk, re.compile(r"/me/entitlement$"), "Loading your plan…")
    page.check("#choice-upgrade")
    quote = page.locator(".facts.quote")
    walk.step(
        "journey-upgrade-quote",
        (quote, re.compile(r"Credit for 36[45] days left of 36[56]\D{1,3}\$240\.00")),
        (quote, "Due today"),
        (page.locator("#continue-plan"), "Upgrade to Team and pay $240.00"),
    )
    walk.click_and_land("#continue-plan", r"/_local/pay/")
    walk.step("journey-upgrade-pay", (page.locator("table"), "Team"))
    expect(page.locator("body")).not_to_contain_text("price_")
    walk.pay()
    page.wait_for_url(re.compile(r"/plan$"))
    walk.step(
        "journey-upgraded",
        (page.locator("#checkout-result"), "Thank you: you are on Team now. You paid $240.00 today"),
        (page.locator("#current"), "Team plan"),
        (page.locator("#source"), "Your subscription"),
    )


def test_given_a_gift_when_renewing_then_my_plan_says_when_the_first_charge_is(walk: Walk) -> None:
    page, url = walk.page, walk.url
    term_end = purchase_of(walk.server, BUYER)["term_end"]
    accept(walk, CAROL)
    page.goto(f"{url}/plan")
    walk.step("journey-renew-choice", (page.locator("#continue-plan"), "Renew as Pro"))
    walk.click_and_land("#continue-plan", r"/_local/pay/")
    walk.pay()
    page.wait_for_url(re.compile(r"/plan$"))
    walk.step(
        "journey-renewed",
        (page.locator("#checkout-result"), "Thank you: your Pro plan now renews by itself."),
        (
            page.locator("#checkout-result"),
            f"Your first payment, $240.00, is taken on {reader_day(term_end)}.",
        ),
    )


def test_given_the_term_ended_and_the_sweep_ran_then_subscribers_keep_their_plans_and_billing_reads_ended(
    walk: Walk,
) -> None:
    page, url, svc = walk.page, walk.url, walk.server
    purchase = purchase_of(svc, BUYER)
    move_clock(svc, parse(purchase["term_end"]) + timedelta(days=2))
    svc.ok(svc.post("/_local/sweep"))

    # The renewed and the upgraded are past the gift's date: their own subscriptions carry on.
    page.goto(f"{url}/plan")
    sign_in(walk, CAROL)
    walk.step(
        "journey-renewed-after-end",
        (page.locator("#current"), "Pro plan"),
        (page.locator("#source"), "Your subscription"),
    )
    expect(page.locator("#no-plan")).to_have_count(0)
    sign_in(walk, ALICE)
    walk.step(
        "journey-upgraded-after-end",
        (page.locator("#current"), "Team plan"),
        (page.locator("#source"), "Your subscription"),
    )
    expect(page.locator("#no-plan")).to_have_count(0)

    # The buyer's purchase reads ended: no "Paid", no days left, nothing to hand out.
    page.goto(f"{url}/billing")
    sign_in(walk, BUYER)
    section = page.locator(f"#purchase-{purchase['purchase_id']}")
    walk.step(
        "journey-billing-ended",
        (section.locator(".badge.ended"), "Ended"),
        (section.locator(".ended-on"), reader_day(purchase["term_end"])),
    )
    # The status is Ended, not Paid (the amount it cost stays, as "Paid $720.00", a fact of the past).
    expect(section.locator(".badge.paid")).to_have_count(0)
    expect(section.locator(".facts .badge")).to_have_text("Ended")
    expect(section.locator(".days-left")).to_have_count(0)
    expect(section.locator(".invite-form")).to_have_count(0)


def test_given_support_refunds_a_purchase_in_full_then_billing_reads_refunded_not_paid(walk: Walk) -> None:
    page, svc = walk.page, walk.server
    api_buy(svc, BUYER, 2)
    purchase_id = purchase_of(svc, BUYER)["purchase_id"]
    page.reload()
    section = page.locator(f"#purchase-{purchase_id}")
    expect(section.locator(".badge.paid")).to_have_text("Paid")
    svc.ok(svc.post(f"/_local/refund/{purchase_id}"))  # support, in Stripe's dashboard: charge.refunded
    page.reload()
    walk.step(
        "journey-billing-refunded",
        (section.locator(".badge.refunded"), "Refunded"),
        (section.locator(".facts"), "$480.00"),
    )
    expect(section.locator(".facts")).not_to_contain_text("Paid")
    expect(section.locator(".days-left")).to_have_count(0)
    expect(section.locator(".invite-form")).to_have_count(0)


def test_given_the_api_docs_when_opened_then_try_it_out_goes_to_this_servers_port(walk: Walk) -> None:
    page, url = walk.page, walk.url
    assert not url.endswith(":3000"), "the test server runs on a free port, not the default"
    page.goto(f"{url}/docs")
    servers = page.locator(".servers select")
    expect(servers.locator("option").first).to_have_text(re.compile(re.escape(url)))
