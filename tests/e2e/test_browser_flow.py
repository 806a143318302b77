"""The reference web client in a real browser, read as a buyer and a recipient would.

The walk: buy -> verify -> invite -> revoke -> resend -> claim -> accept signed out and in ->
upgrade -> renew -> decline -> ending soon -> term end -> pending, failed, disputed and refunded
purchases -> a checkout Stripe never confirms -> an unknown address -> more than ten purchases;
then the invite and accept forms by keyboard alone.

The tests run in file order against one server, each going on from where the one before left
the buyer's purchase (as a person's day would).

Drives Debian's chromium (`make e2e-deps` installs it; never `playwright install`) against
`python -m local.server` in a subprocess, in the America/New_York time zone so that every time
shown is checked to be the reader's, with UTC named where it matters. At every step `Walk.step`
asserts what a person reads at 1280 and at 390 px wide, runs axe-core (0 serious or critical
violations), checks that nothing scrolls sideways at 390 px, and writes screenshots of both widths
to web/screenshots/ for review (with axe.json: every page and state axe checked).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
import stripe
from playwright.sync_api import Page, Route, expect

from tests.support.browser import (
    TIMES,
    Walk,
    api_buy,
    move_clock,
    parse,
    purchase_of,
    reader_day,
    reader_time,
    web_token,
)
from tests.support.local_server import Server

pytestmark = pytest.mark.e2e

BUYER = "buyer.e2e@example.com"
ALICE = "alice.e2e@example.com"
BOB = "bob.e2e@example.com"
CAROL = "carol.e2e@example.com"
DAVE = "dave.e2e@example.com"
ERIN = "erin.e2e@example.com"
MALLORY = "mallory.e2e@example.com"


def open_dispute(running: Server, session_id: str) -> None:
    """Stripe's `charge.dispute.created` for the session's payment, signed as Stripe signs it."""
    session = running.ok(
        requests.get(
            f"{running.url}/_stripe/v1/checkout/sessions/{session_id}",
            headers={"Authorization": "Bearer sk_test_local_stub"},
            timeout=10,
        )
    )
    dispute = {
        "id": f"dp_test_{session_id[-8:]}",
        "object": "dispute",
        "payment_intent": session["payment_intent"],
    }
    event = {
        "id": f"evt_test_dispute_{session_id[-8:]}",
        "object": "event",
        "type": "charge.dispute.created",
        "created": int(datetime.now(UTC).timestamp()),
        "livemode": False,
        "data": {"object": {**dispute, "amount": session["amount_total"], "reason": "fraudulent"}},
    }
    body = json.dumps(event)
    signature = stripe.WebhookSignature.generate_signature_header(body, "whsec_local_dev")
    answer = requests.post(
        f"{running.url}/webhooks/stripe",
        data=body,
        headers={"stripe-signature": signature, "content-type": "application/json"},
        timeout=30,
    )
    assert "frozen" in running.ok(answer)["result"]


# ---- the buyer -------------------------------------------------------------------------------------


def test_given_unverified_buyer_when_buying_verifying_inviting_revoking_resending_claiming_then_pages_say_so(
    walk: Walk,
) -> None:
    page, url = walk.page, walk.url

    # Signed out, the plan picker says where to sign in, next to the button.
    page.goto(f"{url}/")
    page.click("#buy")
    walk.step("index-signed-out", (page.locator("#buy-form .action-error"), "Sign in first"))
    walk.sign_in(BUYER, verified=False)
    expect(page.locator("#header-verify")).to_have_text("Verify your email")
    # A buyer who never bought sees no Billing and Purchases in the header.
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(["Plans", "My plan"])

    # "For others" is one of two real choices; "For me" says where a plan for yourself comes from.
    page.check("#for-me")
    walk.step("index-for-me", (page.locator("#for-me-note"), "This page sells plans for other people"))
    expect(page.locator("#buy")).to_be_hidden()
    page.check("#for-others")
    page.check("#plan-pro")
    page.fill("#quantity", "2.5")
    page.click("#buy")
    walk.step("index-fraction", (page.locator("#quantity-error"), "2.5 is not a whole number"))
    expect(page.locator("#quantity")).to_be_focused()
    page.fill("#quantity", "5")
    expect(page.locator("#total")).to_have_text(f"5 Pro plans {TIMES} $240.00 = $1,200.00 for one year")
    walk.step("index", (page.locator("#total"), "5 Pro plans"))
    walk.click_and_land("#buy", r"/_local/pay/")
    walk.step("pay", (page.locator("h1"), "Local Stripe Checkout"))
    walk.pay()

    # Back from Stripe: the purchase is confirmed and shown honestly.
    purchase = page.locator("section.purchase").first
    walk.step(
        "billing-paid",
        (page.locator("#checkout-result"), "Thank you: your payment arrived"),
        (purchase.locator("h2"), f"Pro {TIMES} 5"),
        (purchase.locator(".badge.paid"), "Paid"),
        (purchase.locator(".days-left"), "365 days"),
    )
    expect(page).to_have_url(f"{url}/billing")  # the session id is dropped once handled
    expect(purchase.locator("table.seats tbody tr[data-state='available']")).to_have_count(5)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(
        ["Plans", "Billing and Purchases", "My plan"]
    )
    term_end = purchase_of(walk.server, BUYER)["term_end"]
    expect(purchase.locator(".term-note")).to_contain_text(f"ends on {reader_time(term_end)}, whenever")

    # Unverified, inviting is refused next to the Send button, with the way to verify right there.
    emails = purchase.get_by_label("Email addresses")
    send = purchase.get_by_role("button", name="Send invitations")
    emails.fill(f"{ALICE}, {BOB}")
    send.click()
    invite_error = purchase.locator(".invite-form .action-error")
    walk.step("invite-unverified", (invite_error, "Verify your email address before inviting people"))
    walk.next_to(invite_error, send)
    invite_error.get_by_role("button", name="Email me a verification link").click()
    expect(invite_error.locator(".verify-sent")).to_contain_text(f"We sent a link to {BUYER}")

    # The link in the email: confirm once; the header follows; a reload does not offer it again.
    walk.open_from_mail(BUYER, "/verify?token=", name="mail-verify")
    expect(page).to_have_url(f"{url}/verify")  # the token leaves the address bar and the history at once
    walk.step("verify-confirm", (page.locator("#confirm"), f"Confirm {BUYER}"))
    page.click("#confirm")
    walk.step(
        "verify-done",
        (page.locator("#verified"), f"{BUYER} is verified"),
        (page.locator("header .who"), f"Signed in as {BUYER} (verified)"),
    )
    expect(page.locator("#confirm")).to_have_count(0)
    expect(page.locator("#header-verify")).to_have_count(0)
    page.reload()
    expect(page.locator("#already-verified")).to_contain_text("is verified")
    expect(page.locator("#confirm")).to_have_count(0)
    page.goto(f"{url}/verify")
    expect(page.locator("#already-verified")).to_be_visible()
    walk.click_and_land("#after-verify", r"/billing$")
    # A fresh sign-in whose token still says "not verified": the header asks the service (GET /me).
    page.click("#sign-out")
    page.fill("#signin-email", BUYER)
    page.set_checked("#signin-verified", False)
    page.click("#sign-in")
    expect(page.locator("header .who")).to_contain_text(f"Signed in as {BUYER} (verified)")

    # Addresses are counted against the seats left before anything is sent.
    purchase = page.locator("section.purchase").first
    emails = purchase.get_by_label("Email addresses")
    send = purchase.get_by_role("button", name="Send invitations")
    emails.fill(", ".join([ALICE, BOB, CAROL, DAVE, ERIN, MALLORY]))
    expect(purchase.locator(".tally")).to_have_text(
        "6 addresses but only 5 seats left: remove 1, or buy more plans."
    )
    send.click()
    walk.step("invite-too-many", (invite_error, "You entered 6 addresses and 5 seats are left"))
    # Each refused row is named next to the form, with the API's reason.
    emails.fill(f"{ALICE}, not-an-address")
    send.click()
    walk.step(
        "invite-bad-row",
        (invite_error.locator("ul.row-errors"), "not-an-address: This is not an email address."),
    )
    emails.fill(f"{ALICE}\n{BUYER}")
    send.click()
    expect(invite_error).to_contain_text("You cannot invite yourself")
    expect(invite_error.locator("ul.row-errors")).to_have_text(f"{BUYER}: This is your own address.")

    # Invite two people with a message.
    emails.fill(f"{ALICE},\n{BOB}")
    purchase.get_by_label("Personal message (optional)").fill("Happy new year!")
    send.click()
    status = purchase.locator(".purchase-status")
    expect(status).to_contain_text(f"Invited 2 people: {ALICE} and {BOB}.")
    alice_row = purchase.locator(f"tr[data-recipient='{ALICE}']")
    expect(alice_row.locator(".badge.invited")).to_have_text("Invited")
    # Just sent: no Resend button, but when it will be allowed (10 minutes), in the reader's time.
    expect(purchase.locator("button.resend")).to_have_count(0)
    walk.step(
        "billing-invited",
        (alice_row.locator(".resend-wait"), re.compile(r"you can send it again from \d+:\d\d [AP]M")),
    )
    page.reload()  # the wait comes from the purchase's audit trail, so it survives a reload
    purchase = page.locator("section.purchase").first
    expect(purchase.locator(".resend-wait")).to_have_count(2)

    # Revoke asks first; "Keep it" changes nothing.
    bob_revoke = purchase.get_by_role("button", name=f"Revoke the invitation to {BOB}")
    bob_revoke.click()
    dialog = page.locator("dialog.confirm")
    walk.step("revoke-dialog", (dialog.locator("h2"), f"Revoke the invitation to {BOB}?"))
    expect(page.locator("#confirm-no")).to_be_focused()
    page.click("#confirm-no")
    expect(dialog).to_have_count(0)
    expect(purchase.locator(f"tr[data-recipient='{BOB}']")).to_have_count(1)
    bob_revoke.click()
    page.click("#confirm-yes")
    expect(purchase.locator(".purchase-status")).to_contain_text(f"The invitation to {BOB} was revoked")
    expect(purchase.locator(f"tr[data-recipient='{BOB}']")).to_have_count(0)
    # The revoked seat keeps its history, with times in the reader's zone.
    freed = purchase.locator("tr[data-seat='0002']")
    freed.locator("details.seat-history summary").click()
    walk.step(
        "billing-revoked",
        (freed.locator("ol.history"), "Invited b***@e***.com"),
        (freed.locator("ol.history"), "Invitation taken back"),
    )
    expect(freed.locator("ol.history time").first).to_contain_text(re.compile(r"(EST|EDT)$"))

    # Eleven minutes later (the service's clock), a resend is allowed; afterwards the wait is back.
    now = parse(walk.server.ok(walk.server.get("/_local/clock"))["now"])
    move_clock(walk.server, now + timedelta(minutes=11))
    page.reload()
    purchase = page.locator("section.purchase").first
    purchase.get_by_role("button", name=f"Resend the invitation to {ALICE}").click()
    expect(purchase.locator(".purchase-status")).to_contain_text(f"A fresh link was sent to {ALICE}")
    alice_row = purchase.locator(f"tr[data-recipient='{ALICE}']")
    alice_row.locator("details.seat-history summary").click()
    walk.step(
        "billing-resent",
        (alice_row.locator("ol.history"), "Sent again"),
        (alice_row.locator(".resend-wait"), "you can send it again from"),
    )

    # Claim asks first, then the page explains why no second claim is offered.
    purchase.get_by_role("button", name="Claim one for myself").click()
    walk.step("claim-dialog", (dialog.locator("h2"), "Claim one Pro plan for yourself?"))
    page.click("#confirm-yes")
    expect(purchase.locator(".purchase-status")).to_contain_text("You claimed a Pro plan for yourself")
    expect(purchase.locator("tr[data-state='claimed']")).to_have_count(1)
    expect(purchase.locator(".counts")).to_have_text("3 available, 1 invited, and 1 claimed by you")
    expect(purchase.locator("button.claim")).to_have_count(0)
    walk.step("billing-claimed", (purchase.locator(".claim-held"), "You already have the Pro plan"))


# ---- the recipients --------------------------------------------------------------------------------


def test_given_recipient_when_accepting_signed_out_then_in_unverified_then_upgrading_then_pages_say_so(
    walk: Walk,
) -> None:
    page, url = walk.page, walk.url
    term_end = purchase_of(walk.server, BUYER)["term_end"]

    # Signed out: what it is, from whom (the buyer, in full: a valid link), until when, which address, and
    # "Sign in to accept"; no Accept button yet.
    walk.open_from_mail(ALICE, "/accept?token=", name="mail-invitation")
    expect(page).to_have_url(f"{url}/accept")  # the token is kept for this tab, not in the history
    walk.step(
        "accept-signed-out",
        (page.locator("#gift-title"), "A Pro plan for you"),
        (page.locator("#sender"), BUYER),
        (page.locator("#until"), reader_time(term_end)),
        (page.locator("#signin-prompt"), "Sign in with the email address this invitation was sent to"),
    )
    expect(page.locator("#accept")).to_have_count(0)
    page.click("#sign-in-to-accept")
    expect(page.locator("#signin-email")).to_be_focused()

    # Another address: the API's sentence, and the way out, next to the button.
    walk.sign_in(MALLORY)
    page.click("#accept")
    accept_error = page.locator(".accept-actions .action-error")
    walk.step(
        "accept-mismatch",
        (accept_error, "This invitation was sent to another address (a***@e***.com)"),
        (accept_error, f"You are signed in as {MALLORY}"),
    )
    walk.next_to(accept_error, page.locator("#accept"))
    page.click("#switch-account")
    expect(page.locator("#signin-prompt")).to_be_visible()

    # The invited address, not verified yet: a verify action that fits a recipient.
    walk.sign_in(ALICE, verified=False)
    page.click("#accept")
    walk.step("accept-unverified", (accept_error, f"Verify {ALICE} to accept"))
    accept_error.get_by_role("button", name="Email me a verification link").click()
    expect(accept_error.locator(".verify-sent")).to_contain_text(f"We sent a link to {ALICE}")
    walk.open_from_mail(ALICE, "/verify?token=")
    page.click("#confirm")
    expect(page.locator("#verified")).to_contain_text(f"{ALICE} is verified")
    expect(page.locator("#after-verify")).to_have_text("Back to your invitation")
    walk.click_and_land("#after-verify", r"/accept$")  # back by `#token=`, dropped on arrival
    page.click("#accept")
    walk.step(
        "accepted", (page.locator("#accepted"), f"Your Pro plan is active until {reader_day(term_end)}")
    )
    expect(page.locator("#accepted")).to_be_focused()
    # She never bought anything: no Billing and Purchases for her.
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(["Plans", "My plan"])

    # My plan: a portal, with one clear choice.
    page.goto(f"{url}/plan")
    walk.step(
        "plan-gift",
        (page.locator("#current"), "Pro plan"),
        (page.locator("#source"), "A gift from b***@e***.com (part of the address is hidden)"),
        (page.locator("#term-end"), reader_time(term_end)),
        (page.locator("#days-left"), re.compile(r"^36[45] days$")),
        (page.locator("#continue-plan"), "Renew as Pro"),
    )
    expect(page.locator("button.primary")).to_have_count(1)
    page.check("#choice-upgrade")
    expect(page.locator("#amount-due")).to_have_text("$240.00")
    walk.step("plan-upgrade-quote", (page.locator("#continue-plan"), "Upgrade to Team and pay $240.00"))
    walk.click_and_land("#continue-plan", r"/_local/pay/")
    walk.pay()
    # Stripe returns every checkout to /billing?session_id=...; an upgrade goes on to My plan.
    page.wait_for_url(re.compile(r"/plan$"))
    walk.step(
        "plan-upgraded",
        (page.locator("#checkout-result"), "Thank you: you are on Team now. You paid $240.00 today"),
        (page.locator("#current"), "Team plan"),
        (page.locator("#source"), "Your subscription"),
        (page.locator("#auto-renew"), "Yes, every year"),
    )


def test_given_recipients_when_renewing_and_declining_then_plan_and_billing_read_so(walk: Walk) -> None:
    page, url, svc = walk.page, walk.url, walk.server
    buyer = web_token(svc, BUYER)
    purchase_id = purchase_of(svc, BUYER)["purchase_id"]
    invited = svc.ok(
        svc.post(
            f"/purchases/{purchase_id}/invitations",
            {"invitations": [{"email": CAROL}, {"email": DAVE}]},
            buyer,
        ),
        201,
    )
    dave_seat = invited["seats"][1]["seat_id"]

    # Carol renews: a plan of her own that bills from the gift's end.
    walk.open_from_mail(CAROL, "/accept?token=")
    walk.sign_in(CAROL)
    page.click("#accept")
    expect(page.locator("#accepted")).to_be_visible()
    page.goto(f"{url}/plan")
    walk.click_and_land("#continue-plan", r"/_local/pay/")
    walk.pay()
    page.wait_for_url(re.compile(r"/plan$"))
    term_end = purchase_of(svc, BUYER)["term_end"]
    walk.step(
        "plan-renewed",
        (page.locator("#checkout-result"), "Thank you: your Pro plan now renews by itself."),
        (
            page.locator("#checkout-result"),
            f"Your first payment, $240.00, is taken on {reader_day(term_end)}.",
        ),
        (page.locator("#source"), "Your subscription"),
    )

    # Dave declines, after being asked.
    walk.open_from_mail(DAVE, "/accept?token=")
    page.click("#decline")
    walk.step("decline-dialog", (page.locator("dialog.confirm h2"), "Decline the Pro plan?"))
    page.click("#confirm-yes")
    walk.step("declined", (page.locator("#declined"), "You declined the plan"))

    # The buyer sees both, with history.
    page.goto(f"{url}/billing")
    walk.sign_in(BUYER)
    purchase = page.locator("section.purchase").first
    expect(purchase.locator(f"tr[data-recipient='{CAROL}']")).to_have_attribute("data-state", "accepted")
    declined = purchase.locator(f"tr[data-seat='{dave_seat}']")
    expect(declined).to_have_attribute("data-state", "available")
    declined.locator("summary").click()
    walk.step("billing-declined", (declined.locator("ol.history"), "Declined by the recipient"))


def test_given_gift_nearing_and_past_its_end_when_read_then_ending_soon_then_ended(walk: Walk) -> None:
    page, url, svc = walk.page, walk.url, walk.server
    purchase = purchase_of(svc, BUYER)
    term_end = parse(purchase["term_end"])
    svc.ok(
        svc.post(
            f"/purchases/{purchase['purchase_id']}/invitations",
            {"invitations": [{"email": ERIN}]},
            web_token(svc, BUYER),
        ),
        201,
    )
    walk.open_from_mail(ERIN, "/accept?token=")
    walk.sign_in(ERIN)
    page.click("#accept")
    expect(page.locator("#accepted")).to_be_visible()

    # Twenty days before the end: an ending-soon banner for Erin, and for the buyer's unused seat.
    move_clock(svc, term_end - timedelta(days=20))
    page.goto(f"{url}/plan")
    walk.step(
        "plan-ending-soon",
        (
            page.locator("#ending-soon"),
            f"Your Pro plan ends in 20 days, on {reader_day(purchase['term_end'])}.",
        ),
    )
    page.goto(f"{url}/billing")
    walk.sign_in(BUYER)
    section = page.locator("section.purchase").first
    walk.step(
        "billing-ending-soon",
        (section.locator(".ending-soon"), "This purchase ends in 20 days. 1 seat is still not given"),
    )

    # A day after the end, and the sweep: ended, with no days left and nothing to hand out.
    move_clock(svc, term_end + timedelta(days=1))
    svc.ok(svc.post("/_local/sweep"))
    page.reload()
    section = page.locator("section.purchase").first
    walk.step(
        "billing-ended",
        (section.locator(".badge.ended"), "Ended"),
        (section.locator(".ended-on"), reader_day(purchase["term_end"])),
    )
    expect(section.locator(".days-left")).to_have_count(0)
    expect(section.locator(".invite-form")).to_have_count(0)
    expect(section.locator("tr[data-state='expired']").first).to_contain_text("Ended")
    page.goto(f"{url}/plan")
    walk.sign_in(ERIN)
    walk.step(
        "plan-ended",
        (page.locator("#no-plan"), f"your Pro plan (a gift) ended on {reader_day(purchase['term_end'])}"),
        (page.locator("#continue-plan"), "Renew"),
    )


# ---- purchases that are not (or no longer) paid ------------------------------------------------------


def test_given_pending_failed_and_refunded_purchases_when_billing_read_then_each_is_honest(
    walk: Walk,
) -> None:
    page, url, svc = walk.page, walk.url, walk.server
    other = "second.buyer.e2e@example.com"
    frank = "frank.e2e@example.com"
    page.goto(f"{url}/")
    walk.sign_in(other)
    page.check("#plan-connect")
    page.fill("#quantity", "2")
    walk.click_and_land("#buy", r"/_local/pay/")
    session_id = page.url.rsplit("/", 1)[-1]
    walk.click_and_land("#pay-later", r"/billing")
    section = page.locator("section.purchase").first
    walk.step(
        "billing-pending",
        (page.locator("#checkout-result"), f"Thank you: your order of Connect {TIMES} 2 is placed"),
        (section.locator(".badge.pending_payment"), "Waiting for payment"),
        (section.locator(".facts"), "To pay"),
    )
    expect(section.locator(".facts")).not_to_contain_text("Paid")
    expect(section.locator("table.seats")).to_have_count(0)
    expect(section.locator(".invite-form")).to_have_count(0)
    expect(page.locator("#checkout-result")).not_to_contain_text("Invite people")

    svc.ok(svc.post(f"/_local/checkout/{session_id}/async", {"succeeded": False}))
    page.reload()
    section = page.locator("section.purchase").first
    walk.step(
        "billing-failed",
        (section.locator(".badge.payment_failed"), "Payment failed"),
        (section.locator(".facts"), "$240.00, not charged"),
        (section.locator(".state-note a"), "Buy them again"),
    )

    # A disputed payment: the purchase says invitations are paused, and offers none.
    _, disputed_session = api_buy(svc, other, 3)
    open_dispute(svc, disputed_session)
    page.reload()
    section = page.locator("section.purchase").first
    walk.step(
        "billing-disputed",
        (section.locator(".badge.warn"), "Dispute open"),
        (section.locator(".frozen-note"), "new invitations and claims are paused"),
    )
    expect(section.locator(".invite-form")).to_have_count(0)

    # A paid purchase, a recipient using it, then a full refund.
    token, _ = api_buy(svc, other, 2)
    purchase_id = purchase_of(svc, other)["purchase_id"]
    svc.ok(svc.post(f"/purchases/{purchase_id}/invitations", {"invitations": [{"email": frank}]}, token), 201)
    walk.open_from_mail(frank, "/accept?token=")
    walk.sign_in(frank)
    page.click("#accept")
    expect(page.locator("#accepted")).to_be_visible()
    svc.ok(svc.post(f"/_local/refund/{purchase_id}"))
    page.goto(f"{url}/plan")
    walk.step("plan-cancelled", (page.locator("#no-plan"), "was cancelled before its end date"))
    page.goto(f"{url}/billing")
    walk.sign_in(other)
    section = page.locator(f"#purchase-{purchase_id}")
    frank_row = section.locator(f"tr[data-recipient='{frank}']")
    frank_row.locator("summary").click()
    walk.step(
        "billing-refunded",
        (section.locator(".badge.refunded"), "Refunded"),
        (section.locator(".facts"), "$480.00"),
        (frank_row.locator("ol.history"), "Cancelled: the purchase was refunded"),
    )
    expect(section.locator(".days-left")).to_have_count(0)
    expect(section.locator(".facts")).not_to_contain_text("Paid")


def test_given_checkout_stripe_never_confirms_when_a_minute_passes_then_pages_stop_and_say_what_to_do(
    walk: Walk,
) -> None:
    page, url = walk.page, walk.url
    page.goto(f"{url}/billing")
    walk.sign_in("waiting.e2e@example.com")
    # While the purchases load, the page says so (the request is held until the sentence is seen).
    held: list[Route] = []
    page.route(re.compile(r"/purchases\?limit=10"), lambda route: held.append(route))
    page.reload()
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(25)
    assert held, "the page asked for the purchases"
    expect(page.locator("#content .loading")).to_have_text("Loading your purchases…")
    held[0].continue_()
    page.unroute(re.compile(r"/purchases\?limit=10"))
    expect(page.locator("#content .empty")).to_contain_text("You have not bought any plans for others yet")
    page.clock.install()
    page.goto(f"{url}/billing?session_id=cs_test_never_confirmed")
    expect(page.locator("#checkout-note")).to_contain_text("confirming your payment with Stripe")
    page.clock.fast_forward("01:05")
    walk.step(
        "billing-timeout",
        (page.locator("#checkout-waiting"), "We have not heard from Stripe about this payment yet"),
        (page.locator("#checkout-note"), "cs_test_never_confirmed"),
    )
    expect(page.locator("#check-again")).to_be_visible()
    page.goto(f"{url}/plan?session_id=cs_test_never_confirmed")
    expect(page.locator("#checkout-note")).to_contain_text("confirming your payment with Stripe")
    page.clock.fast_forward("01:05")
    walk.step("plan-timeout", (page.locator("#checkout-waiting"), "We have not heard from Stripe"))


def test_given_unknown_address_when_browsed_then_html_page_not_found_with_favicon(walk: Walk) -> None:
    page, url = walk.page, walk.url
    response = page.goto(f"{url}/no-such-page")
    assert response is not None and response.status == 404
    walk.step("not-found", (page.locator("h1"), "Page not found"))
    icon = requests.get(f"{url}{page.locator('link[rel=icon]').get_attribute('href')}", timeout=10)
    assert (icon.status_code, icon.headers["content-type"]) == (200, "image/svg+xml")
    api = requests.get(f"{url}/no-such-page", headers={"accept": "application/json"}, timeout=10)
    assert api.json()["error"]["code"] == "not_found"  # API clients still get the error shape


def test_given_buyer_with_eleven_purchases_when_showing_older_then_the_eleventh_appears(walk: Walk) -> None:
    page, url, svc = walk.page, walk.url, walk.server
    many = "many.buyer.e2e@example.com"
    for n in range(1, 12):  # distinct quantities: the same checkout twice is one session
        api_buy(svc, many, n, plan="connect")
    page.goto(f"{url}/billing")
    walk.sign_in(many)
    expect(page.locator("section.purchase")).to_have_count(10)
    walk.step("billing-more", (page.locator("#more"), "Show older purchases"))
    page.click("#more")
    expect(page.locator("section.purchase")).to_have_count(11)
    expect(page.locator("#more")).to_have_count(0)


def test_given_a_purchase_of_many_seats_when_filtering_searching_and_paging_then_the_table_follows(
    walk: Walk,
) -> None:
    page, url, svc = walk.page, walk.url, walk.server
    big = "big.buyer.e2e@example.com"
    token, _ = api_buy(svc, big, 30, plan="team")
    purchase_id = purchase_of(svc, big)["purchase_id"]
    rows = [{"email": f"{name}.e2e@example.com"} for name in ("gina", "gus", "hal")]
    rows.append({"email": "bounce@simulator.amazonses.com"})  # SES's simulator: the email bounces
    svc.ok(svc.post(f"/purchases/{purchase_id}/invitations", {"invitations": rows}, token), 201)
    svc.drain()
    page.goto(f"{url}/billing")
    walk.sign_in(big)
    section = page.locator(f"#purchase-{purchase_id}")
    seats = section.locator("table.seats tbody tr[data-seat]")
    expect(seats).to_have_count(25)
    walk.step(
        "billing-many-seats",
        (section.locator("table.seats caption"), f"Team {TIMES} 30: showing 25 of 30"),
        (section.locator(".more-seats"), "Show more seats"),
    )
    section.locator(".more-seats").click()
    expect(seats).to_have_count(30)
    expect(section.locator(".more-seats")).to_have_count(0)

    section.get_by_label("State").select_option("invited")
    section.get_by_role("button", name="Find seats").click()
    expect(seats).to_have_count(4)
    # The bounced invitation: its badge, and its history (read from the seat's route) says when.
    bounced = section.locator("tr[data-recipient='bounce@simulator.amazonses.com']")
    expect(bounced.locator(".badge.bounced")).to_have_text("Email bounced")
    bounced.locator("details.seat-history summary").click()
    walk.step(
        "billing-seat-bounced",
        (bounced.locator("ol.history"), "Invited b***@s***.com"),
        (bounced.locator("ol.history"), "The invitation email bounced"),
    )
    expect(bounced.locator("ol.history time")).to_have_count(2)
    section.get_by_label("Recipient's email (or its start)").fill("gu")
    section.get_by_role("button", name="Find seats").click()
    expect(seats).to_have_count(1)
    walk.step("billing-seat-search", (seats.first, "gus.e2e@example.com"))
    section.get_by_label("Recipient's email (or its start)").fill("nobody")
    section.get_by_role("button", name="Find seats").click()
    expect(section.locator("tr.no-seats")).to_contain_text("No seat matches")


# ---- keyboard only ---------------------------------------------------------------------------------


def tab_to(page: Page, selector: str, limit: int = 40) -> None:
    """Press Tab until `selector` has the focus; fail if it is not reached within `limit` presses."""
    target = page.locator(selector)
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("node => node === document.activeElement"):
            return
    pytest.fail(f"{selector} was not reached with {limit} presses of Tab")


def test_given_keyboard_only_when_inviting_revoking_and_accepting_then_every_control_is_reached_and_works(
    walk: Walk,
) -> None:
    page, url, svc = walk.page, walk.url, walk.server
    buyer = "keys.buyer.e2e@example.com"
    guest = "keys.guest.e2e@example.com"
    api_buy(svc, buyer, 2)

    # Sign in, invite and revoke with the keyboard alone.
    page.goto(f"{url}/billing")
    tab_to(page, "#signin-email")
    page.keyboard.type(buyer)
    tab_to(page, "#sign-in")
    page.keyboard.press("Enter")
    expect(page.locator("header .who")).to_contain_text(f"Signed in as {buyer}")
    tab_to(page, "textarea[name='emails']")
    page.keyboard.type(guest)
    page.keyboard.press("Tab")
    expect(page.locator("textarea[name='message']")).to_be_focused()
    page.keyboard.type("For you")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send invitations")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".purchase-status")).to_contain_text(f"Invited 1 person: {guest}.")
    tab_to(page, f"button[aria-label='Revoke the invitation to {guest}']")
    page.keyboard.press("Enter")
    expect(page.locator("#confirm-no")).to_be_focused()
    page.keyboard.press("Escape")  # Escape keeps it
    expect(page.locator("dialog.confirm")).to_have_count(0)
    expect(page.locator(f"tr[data-recipient='{guest}']")).to_have_count(1)
    tab_to(page, "textarea[name='emails']")  # the invite form again: invite a second time for the accept walk
    page.keyboard.type("keys.second.e2e@example.com")
    tab_to(page, "button.invite")
    page.keyboard.press("Enter")
    expect(page.locator(".purchase-status")).to_contain_text("Invited 1 person")

    # Accept with the keyboard alone: Sign in to accept, sign in, accept.
    walk.open_from_mail(guest, "/accept?token=")
    page.click("#sign-out")  # the buyer's sign-in, from the invite above
    page.locator("body").focus()
    tab_to(page, "#sign-in-to-accept")
    page.keyboard.press("Enter")
    expect(page.locator("#signin-email")).to_be_focused()
    page.keyboard.type(guest)
    tab_to(page, "#sign-in")
    page.keyboard.press("Enter")
    expect(page.locator("header .who")).to_contain_text(f"Signed in as {guest}")
    tab_to(page, "#accept")
    page.keyboard.press("Enter")
    expect(page.locator("#accepted")).to_be_focused()
    expect(page.locator("#accepted")).to_contain_text("Your Pro plan is active until")
