"""The Billing page's delivery options in a real browser (issue 16's page parts, issue 18 items 1, 2, 6).

One buyer, one purchase of six seats, one server and one page for the whole module, in file order:
a pasted list with a bad row (the problem shown beside the row, the service's 422 too), a CSV
file, a scheduled send (then `POST /_local/deliveries`: "Sent"), a shared link (Copy, the
warning, a fresh link on resend), the invoice with subtotal and tax, and one step in German.
Every new state is read at 1280 and 390 px with axe-core (0 serious or critical) and no sideways
scroll (`Walk.step` of tests/support/browser.py). The server runs with `AUTOMATIC_TAX=true`, so the
local Stripe adds its 10 % tax and the purchase has `amount_tax` and an `invoice_url`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import (
    READER_ZONE,
    Checked,
    Walk,
    api_buy,
    move_clock,
    parse,
    reader_page,
    walking,
    web_token,
)
from tests.support.local_server import Server

pytestmark = pytest.mark.e2e

BUYER = "lists.buyer.e2e@example.com"
ANN = "ann.lists.e2e@example.com"
BO = "bo.lists.e2e@example.com"
CY = "cy.lists.e2e@example.com"
DEE = "dee.lists.e2e@example.com"
SEATS = 6
AXE_FILE = "axe-billing-delivery.json"  # web/screenshots/ (tests/e2e/conftest.py)


@pytest.fixture(scope="module", autouse=True)
def _taxed() -> Iterator[None]:
    """The server of this module computes tax (set before `server` starts; restored after)."""
    before = os.environ.get("AUTOMATIC_TAX")
    os.environ["AUTOMATIC_TAX"] = "true"
    yield
    if before is None:
        os.environ.pop("AUTOMATIC_TAX", None)
    else:
        os.environ["AUTOMATIC_TAX"] = before


@pytest.fixture(scope="module")
def page(browser: Browser) -> Iterator[Page]:
    with reader_page(browser, permissions=("clipboard-read", "clipboard-write")) as opened:
        yield opened


@pytest.fixture(scope="module")
def walk(page: Page, server: Server, checked: Checked) -> Iterator[Walk]:
    api_buy(server, BUYER, SEATS)
    page.goto(f"{server.url}/billing")
    with walking(page, server, checked) as walked:
        walked.sign_in(BUYER)
        yield walked


def purchase(walk: Walk) -> Any:
    return walk.page.locator("section.purchase").first


def invited(walk: Walk) -> list[dict[str, Any]]:
    svc = walk.server
    token = web_token(svc, BUYER)
    found = svc.ok(svc.get("/purchases?limit=1", token=token))["purchases"][0]
    detail = svc.ok(svc.get(f"/purchases/{found['purchase_id']}", token=token))
    return [s for s in detail["seats"] if s["state"] == "invited"]


def reader_moment(iso: str) -> str:
    """An instant as format.js `moment` shows it in READER_ZONE: "Dec 4, 2026, 9:00 AM EST"."""
    local = parse(iso).astimezone(ZoneInfo(READER_ZONE))
    hour = local.strftime("%I").lstrip("0")
    return f"{local:%b} {local.day}, {local.year}, {hour}:{local:%M %p} {local.tzname()}"


def test_given_a_pasted_list_with_bad_rows_when_sending_then_each_problem_is_beside_its_row(
    walk: Walk,
) -> None:
    page, svc = walk.page, walk.server
    section = purchase(walk)
    emails = section.get_by_label("Email addresses")
    send = section.get_by_role("button", name="Send invitations")
    problems = section.locator(".row-problems table")

    # More rows than seats: refused before anything is sent.
    emails.fill("\n".join(f"p{i}.lists.e2e@example.com" for i in range(SEATS + 1)))
    expect(section.locator(".tally")).to_have_text(
        "7 addresses but only 6 seats left: remove 1, or buy more plans."
    )
    send.click()
    expect(section.locator(".invite-form .action-error")).to_contain_text(
        "You entered 7 addresses and 6 seats are left"
    )

    # A bad address: named beside the rows by its line, and nothing is sent.
    emails.fill(f"{ANN}\nnot-an-address\n{BO}, Welcome aboard, Bo")
    expect(section.locator(".tally")).to_have_text("3 addresses, 6 seats left.")
    send.click()
    bad = problems.locator("tr[data-row='1']")
    walk.step(
        "lists-bad-row", (bad, "Line 2"), (bad, "not-an-address"), (bad, "This is not an email address.")
    )
    walk.next_to(section.locator(".row-problems"), emails)
    expect(emails).to_have_attribute("aria-invalid", "true")

    # A row only the service refuses (a text-direction character in its message): its 422 per row.
    emails.fill(f"{ANN}\n{BO}, Welcome \u202eaboard")
    send.click()
    refused = problems.locator("tr[data-row='1']")
    walk.step("lists-refused-row", (refused, "Line 2"), (refused, "text-direction characters"))
    assert invited(walk) == [], "a refused list sends nothing"

    # Fixed: one POST with an Idempotency-Key, the row's own message, a summary.
    emails.fill(f"{ANN}\n{BO}, Welcome aboard, Bo")
    section.get_by_label("Your name, as the invitation shows it (optional)").fill("Lena from Lists")
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/invitations")) as posted:
        send.click()
    assert re.fullmatch(r"[0-9a-f-]{16,}", posted.value.headers.get("idempotency-key", "")), (
        posted.value.headers
    )
    body = posted.value.post_data_json
    assert body == {
        "invitations": [
            {"email": ANN, "from_name": "Lena from Lists"},
            {"email": BO, "message": "Welcome aboard, Bo", "from_name": "Lena from Lists"},
        ]
    }
    walk.step("lists-sent", (section.locator(".purchase-status"), f"Invited 2 people: {ANN} and {BO}."))
    expect(problems).to_have_count(0)
    mailed = " ".join(m.get("text") or "" for m in svc.mail(BO))
    assert "Welcome aboard, Bo" in mailed and "Lena from Lists" in mailed, mailed


def test_given_a_csv_file_when_sending_then_its_rows_are_counted_and_invited(walk: Walk) -> None:
    section = purchase(walk)
    csv = f'email,message\n{CY},"Hello Cy, enjoy"\n'.encode()
    section.get_by_label("Or add a CSV file (optional)").set_input_files(
        {"name": "team.csv", "mimeType": "text/csv", "buffer": csv}
    )
    expect(section.locator(".file-note")).to_have_text("team.csv: 1 address, added to the ones below.")
    expect(section.locator(".tally")).to_have_text("1 address, 4 seats left.")
    walk.step("lists-csv", (section.locator(".file-note"), "team.csv"))
    section.get_by_role("button", name="Send invitations").click()
    expect(section.locator(".purchase-status")).to_contain_text(f"Invited 1 person: {CY}.")
    assert any("Hello Cy, enjoy" in (m.get("text") or "") for m in walk.server.mail(CY))


def test_given_a_delivery_date_when_scheduling_then_scheduled_then_sent(walk: Walk) -> None:
    page, svc = walk.page, walk.server
    section = purchase(walk)
    field = section.get_by_label("Deliver on (optional)")
    expect(section.locator(".schedule-warning")).to_contain_text(
        "The plan's year runs from the purchase, not from the delivery"
    )
    # A time already past is refused on the page.
    field.fill("2020-01-01T09:00")
    section.get_by_label("Email addresses").fill(DEE)
    section.get_by_role("button", name="Send invitations").click()
    expect(section.locator(".invite-form .action-error")).to_contain_text("This time has passed")

    now = parse(svc.ok(svc.get("/_local/clock"))["now"])
    local = (now + timedelta(days=2)).astimezone(ZoneInfo(READER_ZONE)).replace(hour=9, minute=0, second=0)
    send_at = local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    field.fill(local.strftime("%Y-%m-%dT%H:%M"))
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/invitations")
    ) as answered:
        section.get_by_role("button", name="Send invitations").click()
    sent = answered.value.request.post_data_json
    assert sent == {"invitations": [{"email": DEE, "send_at": send_at}]}, sent
    seat = next((s for s in invited(walk) if s["recipient_email"] == DEE), None)
    assert answered.value.status == 201, answered.value.text()
    assert seat is not None and seat["send_at"] == send_at and seat["sent_at"] is None, seat
    expect(section.locator(".purchase-status")).to_contain_text(
        f"Scheduled 1 invitation for {reader_moment(send_at)}: {DEE}."
    )
    row = section.locator(f"tr[data-recipient='{DEE}']")
    walk.step("scheduled", (row.locator(".send-at"), f"Scheduled for {reader_moment(send_at)}"))
    assert not any(m for m in svc.mail(DEE)), "nothing is mailed before send_at"

    move_clock(svc, parse(send_at) + timedelta(minutes=1))
    svc.ok(svc.post("/_local/deliveries"))
    page.reload()
    row = purchase(walk).locator(f"tr[data-recipient='{DEE}']")
    sent_at = next(s for s in invited(walk) if s["recipient_email"] == DEE)["sent_at"]
    walk.step("scheduled-sent", (row.locator(".sent-at"), f"Sent {reader_moment(sent_at)}"))
    assert svc.mail(DEE), "mailed once due"


def test_given_an_available_seat_when_sharing_a_link_then_shown_once_with_copy_and_a_warning(
    walk: Walk,
) -> None:
    page = walk.page
    page.reload()
    section = purchase(walk)
    share = section.locator("tr[data-state='available'] button.share").first
    seat_id = share.locator("xpath=ancestor::tr").get_attribute("data-seat")
    with page.expect_response(lambda r: r.url.endswith("/link")) as made:
        share.click()
    assert made.value.status == 201, made.value.text()
    panel = section.locator(".share-panel")
    walk.step(
        "share-link",
        (panel.locator("h3"), f"The link to seat {seat_id}"),
        (panel.locator(".share-warning"), "Whoever has this link can take the plan"),
    )
    url = panel.locator("input.share-url").input_value()
    assert "/accept" in url and url == made.value.json()["url"]
    panel.get_by_role("button", name="Copy link").click()
    expect(panel.locator(".copy-status")).to_contain_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == url
    row = section.locator(f"tr[data-seat='{seat_id}']")
    expect(row).to_contain_text("Shared link (not accepted yet)")

    # Shown once: a reload no longer has it; a new link (the resend of a shared seat, no wait) is fresh.
    page.reload()
    section = purchase(walk)
    expect(section.locator(".share-panel")).to_have_count(0)
    section.get_by_role("button", name=f"Make a new link for seat {seat_id}").click()
    panel = section.locator(".share-panel")
    walk.step("share-new-link", (panel.locator("h3"), f"The new link to seat {seat_id}"))
    fresh = panel.locator("input.share-url").input_value()
    assert fresh != url and "/accept" in fresh
    row = section.locator(f"tr[data-seat='{seat_id}']")
    row.locator("details.seat-history summary").click()
    expect(row.locator("ol.history")).to_contain_text("Link made to share yourself")
    expect(row.locator("ol.history")).to_contain_text("A new link replaced the previous one")


def test_given_a_taxed_purchase_when_read_then_invoice_link_subtotal_and_tax(walk: Walk) -> None:
    page, svc = walk.page, walk.server
    token = web_token(svc, BUYER)
    bought = svc.ok(svc.get("/purchases?limit=1", token=token))["purchases"][0]
    detail = svc.ok(svc.get(f"/purchases/{bought['purchase_id']}", token=token))["purchase"]
    assert detail["amount_tax"] > 0 and detail["invoice_url"], detail
    page.reload()
    section = purchase(walk)
    link = section.get_by_role("link", name="View the invoice")
    walk.step(
        "invoice",
        (section.locator(".facts .subtotal"), re.compile(r"\$\d")),
        (section.locator(".facts .tax"), re.compile(r"\$\d")),
    )
    expect(link).to_have_attribute("href", detail["invoice_url"])
    expect(section.locator(".facts .tax")).to_have_text(f"${detail['amount_tax'] / 100:,.2f}")


def test_given_german_when_reading_billing_then_the_delivery_options_are_german(walk: Walk) -> None:
    page = walk.page
    page.select_option("#language", "de")
    page.wait_for_load_state("load")
    section = purchase(walk)
    expect(page.locator("html")).to_have_attribute("lang", "de")
    walk.step(
        "billing-de",
        (section.locator(".invite-form h3"), "Menschen einladen"),
        (section.locator(".schedule-warning"), "Das Jahr des Abos läuft ab dem Kauf"),
        (section.get_by_role("link", name="Rechnung ansehen"), "Rechnung ansehen"),
    )
    section.get_by_label("E-Mail-Adressen").fill("keine-adresse")
    expect(section.locator(".tally")).to_have_text(re.compile(r"^1 Adresse, \d+ Pl(atz|ätze) frei\.$"))
    section.get_by_role("button", name="Einladungen senden").click()
    problem = section.locator(".row-problems tr[data-row='0']")
    walk.step("billing-de-bad-row", (problem, "Zeile 1"), (problem, "Das ist keine E-Mail-Adresse."))
    page.select_option("#language", "en")
    page.wait_for_load_state("load")
    expect(page.locator("html")).to_have_attribute("lang", "en")
