"""Every email renders to a subject, text and HTML; values are escaped in HTML; links work."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from giftplans import tokens
from giftplans.outbox import rendering
from giftplans.outbox.templates import TEMPLATES, money

from tests.support.streams import PURCHASE_ID, TERM_END_TS

COMMON: dict[str, Any] = {
    "purchase_id": PURCHASE_ID,
    "seat_id": "0001",
    "plan": "pro",
    "term_start": "2026-03-01T12:00:00Z",
    "term_end": "2027-03-01T12:00:00Z",
    "sender": "Ana <b>Buyer</b>",
    "quantity": 3,
    "currency": "usd",
}
PARAMS: dict[str, dict[str, Any]] = {
    "receipt": {**COMMON, "amount_total": 72000, "amount_subtotal": 72000},
    "payment_failed": COMMON,
    "purchase_refunded": {**COMMON, "amount_refunded": 72000},
    "verification": {"sub": "buyer-sub", "nonce": "v" * 32},
    "invitation": {**COMMON, "term_end_ts": TERM_END_TS, "nonce": "n" * 32, "message": "Enjoy <3\nfrom me"},
    "invitation_reminder": {**COMMON, "term_end_ts": TERM_END_TS, "nonce": "n" * 32, "message": ""},
    "invitation_revoked": COMMON,
    "invitation_accepted": {**COMMON, "recipient": "zoë+gift@example.com"},
    "invitation_declined": {**COMMON, "recipient": "zoë+gift@example.com"},
    "gift_credited": {**COMMON, "plan": "team", "credited": 5934},
    "recipient_reminder": {**COMMON, "days": 30},
    "buyer_reminder": {**COMMON, "days": 7, "unassigned": 2},
    "plan_ended": COMMON,
    "unused_seats": {**COMMON, "unused": 2},
    "seat_cancelled": {**COMMON, "reason": "refund", "was_active": True},
    "seat_refunded": {**COMMON, "amount_refunded": 24000},
    "upgrade_done": {**COMMON, "upgrade_plan": "team"},
    "upgrade_offer": {**COMMON, "upgrade_plan": "team", "offer_url": "https://pay.example/c?a=1&b=2"},
}


def test_given_the_template_list_when_compared_with_test_params_then_every_template_is_covered():
    assert set(TEMPLATES) == set(PARAMS)


@pytest.mark.parametrize("template", sorted(PARAMS))
def test_given_params_when_rendered_then_subject_text_and_html_are_present_and_html_is_escaped(template):
    out = rendering.render(template, PARAMS[template])

    assert out.subject and "\n" not in out.subject and "$" not in out.subject
    assert out.text.strip() and "$" not in out.text
    assert out.html.startswith("<!doctype html>") and "$" not in out.html
    assert "<b>Buyer</b>" not in out.html
    assert "<script" not in out.html


def test_given_invitation_when_rendered_then_link_carries_a_token_that_matches_the_seat():
    nonce = "n" * 32
    out = rendering.render("invitation", PARAMS["invitation"])
    url = next(line for line in out.text.splitlines() if "/accept?token=" in line)

    token = tokens.parse_invite_token(parse_qs(urlparse(url).query)["token"][0])
    assert token is not None
    expected = tokens.invite_token(PURCHASE_ID, "0001", "pro", TERM_END_TS, nonce)
    assert token.mac_hash == expected.mac_hash
    assert (token.purchase_id, token.seat_id, token.plan, token.term_end_ts) == (
        PURCHASE_ID,
        "0001",
        "pro",
        TERM_END_TS,
    )
    assert str(token) in out.html


def test_given_invitation_when_rendered_then_it_names_plan_sender_term_end_and_the_early_start():
    out = rendering.render("invitation", PARAMS["invitation"])

    for part in (out.text, out.html):
        assert "Pro" in part and "1 March 2027" in part and "1 March 2026" in part
    assert "Ana <b>Buyer</b>" in out.text and "Ana &lt;b&gt;Buyer&lt;/b&gt;" in out.html
    assert "> Enjoy <3" in out.text and "Enjoy &lt;3<br>from me" in out.html
    assert "started when it was bought" in out.text


def test_given_no_message_when_invitation_rendered_then_no_quote():
    out = rendering.render("invitation", {**PARAMS["invitation"], "message": ""})
    assert "<blockquote" not in out.html and "\n> " not in out.text


def test_given_verification_when_rendered_then_link_carries_the_verification_token():
    out = rendering.render("verification", PARAMS["verification"])
    assert f"/verify?token={tokens.verification_token('buyer-sub', 'v' * 32)}" in out.text


def test_given_offer_url_with_ampersand_when_rendered_then_html_attribute_is_escaped():
    out = rendering.render("upgrade_offer", PARAMS["upgrade_offer"])
    assert 'href="https://pay.example/c?a=1&amp;b=2"' in out.html
    assert "https://pay.example/c?a=1&b=2" in out.text


def test_given_reminders_when_rendered_then_buyer_sees_count_and_recipient_renew_link():
    buyer = rendering.render("buyer_reminder", PARAMS["buyer_reminder"])
    recipient = rendering.render("recipient_reminder", PARAMS["recipient_reminder"])

    assert buyer.subject == "2 Pro plans are still unassigned"
    assert "claim" in buyer.text and "/billing" in buyer.text
    assert recipient.subject == "Your Pro plan ends in 30 days" and "/plan" in recipient.text


def test_given_receipt_when_rendered_then_amount_and_billing_link():
    out = rendering.render("receipt", PARAMS["receipt"])
    assert "720.00 USD" in out.text and "/billing" in out.text


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [(72000, "usd", "720.00 USD"), (5, "eur", "0.05 EUR"), (1200, "jpy", "1,200 JPY")],
)
def test_given_minor_units_when_formatted_then_currency_exponent_is_respected(amount, currency, shown):
    assert money(amount, currency) == shown


def test_given_unknown_template_when_rendered_then_key_error():
    with pytest.raises(KeyError):
        rendering.render("nope", {})


def test_given_buyer_reminder_when_rendered_then_body_counts_unassigned_of_bought_with_days_and_utc_end():
    out = rendering.render("buyer_reminder", {**PARAMS["buyer_reminder"], "unassigned": 1})

    assert out.subject == "1 Pro plan is still unassigned"
    assert "1 of the 3 Pro plans you bought" in out.text and " is still unassigned" in out.text
    assert "ends in 7 days, on 1 March 2027 at 12:00 UTC" in out.text


@pytest.mark.parametrize("template", ["invitation", "recipient_reminder", "plan_ended", "receipt"])
def test_given_a_term_email_when_rendered_then_its_dates_say_utc(template):
    out = rendering.render(template, PARAMS[template])
    assert "1 March 2027 at 12:00 UTC" in out.text


def test_given_invitation_when_rendered_then_it_says_accepting_later_means_less_time():
    out = rendering.render("invitation", PARAMS["invitation"])
    assert "accepting later does not extend it" in out.text and "the sooner you accept" in out.text


def test_given_claimed_seat_when_plan_ended_rendered_then_it_does_not_say_received_from_the_reader():
    claimed = rendering.render("plan_ended", {**PARAMS["plan_ended"], "claimed": True})
    gift = rendering.render("plan_ended", PARAMS["plan_ended"])

    assert "The Pro plan you claimed ended" in claimed.text and "received from" not in claimed.text
    assert "received from Ana <b>Buyer</b>" in gift.text
    assert "/plan" in claimed.text and "/plan" in gift.text


def test_given_a_gift_credited_when_rendered_then_both_people_read_the_amount_in_words():
    recipient = rendering.render("gift_credited", PARAMS["gift_credited"])
    buyer = rendering.render("invitation_accepted", {**PARAMS["invitation_accepted"], "credited": 5934})

    assert "your gift of Team from Ana" in recipient.text
    assert "was added as a credit of 59.34 USD to your account" in recipient.text
    assert "as a credit" in buyer.subject
    assert "added as a credit of 59.34 USD to their account" in buyer.text
    plain = rendering.render("invitation_accepted", PARAMS["invitation_accepted"])
    assert "credit" not in plain.text


def test_given_nothing_left_to_credit_when_rendered_then_it_says_so_without_an_amount():
    out = rendering.render("gift_credited", {**PARAMS["gift_credited"], "credited": 0})
    assert "nothing left" in out.text and "0.00" not in out.text


def test_given_an_invoice_and_tax_when_the_receipt_renders_then_it_links_the_invoice_and_names_the_tax():
    out = rendering.render(
        "receipt", {**PARAMS["receipt"], "amount_tax": 7200, "invoice_url": "https://invoice.stripe.test/i/1"}
    )
    assert "Your invoice: https://invoice.stripe.test/i/1" in out.text
    assert "Of which tax: 72.00 USD." in out.text
    assert "invoice" not in rendering.render("receipt", PARAMS["receipt"]).text.lower()
