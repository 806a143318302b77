"""The browser walk's machinery for the e2e tests (tests/e2e): Debian's chromium, a reader's page, `Walk`.

`Walk.step` asserts what a person reads at 1280 and at 390 px wide, runs axe-core (0 serious or
critical violations), checks that nothing scrolls sideways at 390 px, and writes screenshots of
both widths to web/screenshots/. The pages are in READER_ZONE (America/New_York), so every time
shown is checked to be the reader's (`reader_time`, `reader_day`). The fixtures that use these are
tests/e2e/conftest.py's.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.support.local_server import Server

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "web" / "screenshots"
WIDE, NARROW = 1280, 390
TIMEOUT_MS = 15_000
READER_ZONE = "America/New_York"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
BLOCKING_IMPACTS = ("serious", "critical")
TIMES = "\N{MULTIPLICATION SIGN}"
AXE_RUN = "axe.run(document, {resultTypes: ['violations']}).then((r) => r.violations)"


@contextlib.contextmanager
def launched_browser() -> Iterator[Browser]:
    """Debian's chromium, headless (`make e2e-deps` installs it; never `playwright install`)."""
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


@dataclass
class Checked:
    """Every page and state axe checked in this module, written to web/screenshots/axe.json."""

    states: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Walk:
    page: Page
    server: Server
    checked: Checked

    @property
    def url(self) -> str:
        return self.server.url

    def step(self, name: str, *reads: tuple[Locator, str | re.Pattern[str]]) -> None:
        """What a person reads here, at both widths; axe finds nothing serious; no sideways scroll."""
        page = self.page
        for width in (WIDE, NARROW):
            page.set_viewport_size({"width": width, "height": 900 if width == WIDE else 800})
            for locator, text in reads:
                expect(locator).to_be_visible()
                expect(locator).to_contain_text(text)
            if width == WIDE:
                page.wait_for_load_state("networkidle")
            blocking = [
                f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
                for v in axe_violations(page)
                if v["impact"] in BLOCKING_IMPACTS
            ]
            assert blocking == [], f"axe on {name} at {width}px: {blocking}"
            self.checked.states.append({"state": name, "width": width, "url": page.url})
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
            if width == NARROW:
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {NARROW}px wide"
        page.set_viewport_size({"width": WIDE, "height": 900})

    def next_to(self, message: Locator, control: Locator, within_px: int = 120) -> None:
        """An action's message starts right under its control, at both widths (not far up the page)."""
        for width in (WIDE, NARROW):
            self.page.set_viewport_size({"width": width, "height": 900 if width == WIDE else 800})
            below = message.bounding_box()
            above = control.bounding_box()
            assert below and above, "both are on the page"
            gap = below["y"] - (above["y"] + above["height"])
            assert 0 <= gap <= within_px, f"at {width}px the message is {gap:.0f}px from its control"
        self.page.set_viewport_size({"width": WIDE, "height": 900})

    def sign_in(self, email: str, verified: bool = True) -> None:
        page = self.page
        if page.locator("#sign-out").count():
            page.click("#sign-out")
        page.fill("#signin-email", email)
        page.set_checked("#signin-verified", verified)
        page.click("#sign-in")
        state = "verified" if verified else "not verified"
        expect(page.locator("header .who")).to_contain_text(f"Signed in as {email} ({state})")

    def click_and_land(self, selector: str, address: str) -> None:
        """Click, then wait to arrive at `address`; if the page stays, fail with what it says."""
        page = self.page
        page.click(selector)
        try:
            page.wait_for_url(re.compile(address))
        except PlaywrightTimeout:
            pytest.fail(
                f"clicking {selector} on {page.url} did not lead to {address}; it reads: "
                f"{page.locator('body').inner_text()[:600]}"
            )

    def open_from_mail(self, email: str, link: str, name: str | None = None) -> None:
        """Open the newest mail to `email` and follow its link containing `link`."""
        page = self.page
        # The mailer runs on the table's stream; a record the background poller holds may still be
        # on its way when drain() returns, so wait (bounded) until the mail is there and no more
        # arrives, as a person would wait for their inbox.
        seen = -1
        for _ in range(50):
            messages = self.server.mail(email)
            if len(messages) == seen and any(link in (m.get("text") or "") for m in messages):
                break
            seen = len(messages)
            page.wait_for_timeout(150)
        page.goto(f"{self.url}/_local/mail?to={quote(email)}")
        found = page.locator(f"article.message a[href*='{link}']").first
        expect(found).to_be_visible()
        if name:
            self.step(name, (page.locator("article.message h2").first, re.compile(r"\w")))
        found.click()
        page.wait_for_url(re.compile(re.escape(link.split("?")[0])))

    def pay(self) -> None:
        """On the local Stripe page: pay, and come back where Stripe sends people."""
        self.click_and_land("#pay", r"/(billing|plan)")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (the script is added once per document)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    return page.evaluate(AXE_RUN)


@contextlib.contextmanager
def reader_page(browser: Browser, permissions: tuple[str, ...] = ()) -> Iterator[Page]:
    """A page of a fresh context as the reader's browser (1280 px, READER_ZONE, en-US), closed after;
    it fails the test on any JavaScript error the pages raised."""
    context = browser.new_context(
        viewport={"width": WIDE, "height": 900}, timezone_id=READER_ZONE, locale="en-US"
    )
    if permissions:
        context.grant_permissions(list(permissions))
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
        assert errors == [], f"JavaScript errors on the pages: {errors}"
    finally:
        context.close()


@contextlib.contextmanager
def walking(page: Page, server: Server, checked: Checked) -> Iterator[Walk]:
    """A walk on `page`; the server's clock is reset after it."""
    try:
        yield Walk(page, server, checked)
    finally:
        server.reset_clock()


def reader_time(iso: str) -> str:
    """An instant as a reader in READER_ZONE must see it: "Dec 1, 2027, 5:06 PM EST (22:06 UTC)"."""
    at = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    local = at.astimezone(ZoneInfo(READER_ZONE))
    hour = local.strftime("%I").lstrip("0")
    shown = f"{local:%b} {local.day}, {local.year}, {hour}:{local:%M %p} {local.tzname()}"
    utc_day = f"{at:%b} {at.day}, {at.year}, " if at.date() != local.date() else ""
    return f"{shown} ({utc_day}{at:%H:%M} UTC)"


def reader_day(iso: str) -> str:
    at = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(ZoneInfo(READER_ZONE))
    return f"{at:%b} {at.day}, {at.year}"


def api_buy(running: Server, email: str, quantity: int, plan: str = "pro") -> tuple[str, str]:
    """A paid purchase by the web account of `email`, made through the API; (token, session id)."""
    token = web_token(running, email)
    session = running.ok(running.post("/checkout/sessions", {"plan": plan, "quantity": quantity}, token), 201)
    running.ok(running.post(f"/_local/checkout/{session['session_id']}/complete", {"payment_status": "paid"}))
    return token, str(session["session_id"])


def purchase_of(running: Server, email: str) -> dict[str, Any]:
    """The newest purchase of the web account of `email`."""
    page = running.ok(running.get("/purchases?limit=1", token=web_token(running, email)))
    return page["purchases"][0]


def web_token(running: Server, email: str) -> str:
    """A token for the same account the web sign-in makes for `email` (auth.js: subFor)."""
    h = 0x811C9DC5
    for ch in email.strip().lower():
        h ^= ord(ch)
        h = (h * 0x01000193) & 0xFFFFFFFF
    token, _ = running.token(sub=f"user-{h:08x}", email=email)
    return token


def move_clock(running: Server, to: datetime) -> None:
    running.set_clock(to.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))
