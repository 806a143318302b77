"""The reference web client in a real browser: buy for others, pay, invite, accept, revoke, claim.

Drives Debian's chromium (`make e2e-deps` installs it; never `playwright install`) against
`python -m local.server` in a subprocess. Screenshots of every page at 1280 and 360 px
wide go to web/screenshots/ for review.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.local.conftest import Server, server  # noqa: F401 - the module-scoped fixture

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "web" / "screenshots"
WIDE, NARROW = 1280, 360
TIMEOUT_MS = 15_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

BUYER = "buyer.e2e@example.com"
ALICE = "alice.e2e@example.com"
BOB = "bob.e2e@example.com"
MALLORY = "mallory.e2e@example.com"
TIMES = "\N{MULTIPLICATION SIGN}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("chromium is not installed: run `make e2e-deps` (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": WIDE, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
        assert errors == [], f"JavaScript errors on the pages: {errors}"
    finally:
        context.close()


def shoot(page: Page, name: str) -> None:
    """Screenshots at both widths; at 360 px nothing may scroll sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SHOTS / f"{name}-{WIDE}.png"), full_page=True)
    page.set_viewport_size({"width": NARROW, "height": 800})
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    page.screenshot(path=str(SHOTS / f"{name}-{NARROW}.png"), full_page=True)
    page.set_viewport_size({"width": WIDE, "height": 900})
    assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {NARROW}px wide"


def sign_in(page: Page, email: str) -> None:
    if page.locator("#sign-out").count():
        page.click("#sign-out")
    page.fill("#signin-email", email)
    page.check("#signin-verified")
    page.click("#sign-in")
    expect(page.locator("header .who")).to_contain_text(f"Signed in as {email} (verified)")


def click_and_land(page: Page, selector: str, address: str) -> None:
    """Click, then wait to arrive at `address`; if the page stays, fail with what it says."""
    page.click(selector)
    try:
        page.wait_for_url(re.compile(address))
    except PlaywrightTimeout:
        said = page.locator("#status").inner_text() if page.locator("#status").count() else page.content()
        pytest.fail(
            f"clicking {selector} on {page.url} did not lead to {address}; the page says: {said[:500]}"
        )


def seat_states(page: Page) -> dict[str, str]:
    rows = page.locator("table.seats tbody tr")
    return {
        rows.nth(i).get_attribute("data-seat"): rows.nth(i).get_attribute("data-state")
        for i in range(rows.count())
    }


def open_invitation_from_mail(page: Page, running: Server, email: str) -> None:
    requests.post(f"{running.url}/_local/stream/drain", timeout=30)  # the mailer has run
    page.goto(f"{running.url}/_local/mail?to={email}")
    link = page.locator("article.message a[href*='/accept?token=']").first
    expect(link).to_be_visible()
    shoot(page, "mail")
    link.click()
    page.wait_for_url(re.compile(r"/accept\?token="))


def test_given_buyer_in_browser_when_buying_inviting_accepting_revoking_claiming_then_seats_show_each_state(
    page: Page,
    server: Server,  # noqa: F811 - the fixture imported above
) -> None:
    url = server.url
    status = page.locator("#status")

    # Buy 3 Pro plans for others, and pay on the stand-in checkout page.
    page.goto(f"{url}/")
    shoot(page, "index")
    sign_in(page, BUYER)
    page.check("#plan-pro")
    page.check("#for-others")
    page.fill("#quantity", "3")
    expect(page.locator("#total")).to_contain_text(f"3 {TIMES} $240.00 = $720.00")
    click_and_land(page, "#buy", r"/_local/pay/")
    shoot(page, "pay")
    click_and_land(page, "#pay", r"/billing")

    # Billing and Purchases: the purchase, its term, three available seats.
    purchase = page.locator("section.purchase").first
    expect(purchase.locator("h2")).to_have_text(f"Pro {TIMES} 3")
    expect(purchase.locator("table.seats tbody tr[data-state='available']")).to_have_count(3)
    expect(purchase.locator(".badge.paid")).to_have_text("Paid")
    assert int(purchase.locator(".days-left").inner_text()) > 300

    # Invite two people at once.
    purchase.get_by_label("Email addresses").fill(f"{ALICE},\n{BOB}")
    purchase.get_by_role("button", name="Send invitations").click()
    expect(status).to_contain_text("Invited 2 people")
    expect(purchase.locator("tr[data-state='invited']")).to_have_count(2)
    expect(purchase.locator(f"tr[data-recipient='{ALICE}'] .badge.invited")).to_have_text("Invited")
    # Just sent: the API would refuse a resend for 10 minutes, so the page says when instead of a button.
    expect(purchase.locator("button.resend")).to_have_count(0)
    expect(purchase.locator(".resend-wait")).to_have_count(2)
    expect(purchase.locator(".term-note")).to_contain_text("UTC, whenever it is accepted")
    shoot(page, "billing")

    # The recipient opens the invitation from the mail page; signed out, the page asks to sign in.
    open_invitation_from_mail(page, server, ALICE)
    expect(page.locator("#gift-title")).to_contain_text("A Pro plan from")
    sign_in(page, MALLORY)  # sessionStorage is per tab: this tab now signs in as someone else
    page.click("#sign-out")
    expect(page.locator("#signin-prompt")).to_be_visible()
    shoot(page, "accept")

    # Signed in with another address: the API's 403 sentence is shown, nothing is accepted.
    sign_in(page, MALLORY)
    page.click("#accept")
    expect(status).to_have_class(re.compile(r"\berror\b"))
    expect(status).to_contain_text(f"You are signed in as {MALLORY}")
    assert not status.inner_text().startswith("You are signed in"), "the API's own sentence comes first"
    shoot(page, "accept-mismatch")

    # The invited address accepts.
    sign_in(page, ALICE)
    page.click("#accept")
    expect(page.locator("#accepted")).to_contain_text("Your Pro plan is active until")
    expect(status).to_contain_text("Accepted")

    # Her plan page: the gift, and what an upgrade to Team would cost.
    page.goto(f"{url}/plan")
    expect(page.locator("#current")).to_have_text("Pro plan")
    expect(page.locator("#source")).to_have_text("a gift")
    page.click("#quote")
    expect(page.locator("#amount-due")).to_contain_text("$")
    expect(page.locator("#upgrade")).to_be_visible()
    expect(page.locator("section.renew")).to_contain_text("does not renew by itself")
    expect(page.locator("#renew-plan")).to_have_value("pro")  # renewing at the same tier is the default
    shoot(page, "plan")
    # Renew: a subscription of her own whose billing starts when the gift ends.
    page.click("#renew-checkout")
    page.wait_for_url(re.compile(r"/_local/pay/cs_test_"))

    page.goto(f"{url}/verify")
    expect(page.locator("#send")).to_be_visible()
    shoot(page, "verify")

    # Back as the buyer: Alice's seat is accepted; revoke Bob's invitation, claim one seat.
    page.goto(f"{url}/billing")
    sign_in(page, BUYER)
    purchase = page.locator("section.purchase").first
    expect(purchase.locator(f"tr[data-recipient='{ALICE}']")).to_have_attribute("data-state", "accepted")
    purchase.get_by_role("button", name=f"Revoke the invitation to {BOB}").click()
    expect(status).to_contain_text(f"The invitation to {BOB} was revoked")
    expect(purchase.locator(f"tr[data-recipient='{BOB}']")).to_have_count(0)
    purchase.get_by_role("button", name="Claim one for myself").click()
    expect(status).to_contain_text("You claimed a Pro plan for yourself")
    expect(purchase.locator("tr[data-state='claimed']")).to_have_count(1)

    states = sorted(seat_states(page).values())
    assert states == ["accepted", "available", "claimed"]
    expect(purchase.locator(".counts")).to_have_text("1 available, 1 accepted, 1 claimed by you")
    # The buyer now holds a plan: a seat is still available, but the page explains instead of
    # offering a second claim the API would refuse (one plan per account), after a reload too.
    expect(purchase.locator("button.claim")).to_have_count(0)
    expect(purchase.locator(".claim-held")).to_contain_text("You already have the Pro plan")
    page.reload()
    reloaded = page.locator("section.purchase").first
    expect(reloaded.locator(".claim-held")).to_contain_text("one plan at a time")
    expect(page.locator("button.claim")).to_have_count(0)
    shoot(page, "billing-after")
