"""Whose language an email is in (SPEC 8.9): the reader's, from the JWT's `locale` claim, else the
Accept-Language of the request that made the change, stored on the item the notice comes from;
an invitation row may set the recipient's, else the buyer's; anything else reads English."""

from __future__ import annotations

from typing import Any

import pytest
from giftplans import locales
from giftplans.outbox import rendering
from giftplans.outbox.notices import notices_for
from giftplans.store import keys as k
from giftplans.store import models as m

from tests.support import factories
from tests.support import gifts as g
from tests.support.apigw import call, http_event
from tests.support.streams import change, record, seat


def _invite(
    pid: str, rows: list[dict[str, Any]], *, claims: dict[str, str], language: str | None = None
) -> int:
    status, _ = call(
        "purchases_api",
        http_event(
            "POST",
            f"/purchases/{pid}/invitations",
            route="/purchases/{purchase_id}/invitations",
            body={"invitations": rows},
            claims=claims,
            path_params={"purchase_id": pid},
            headers={"accept-language": language} if language else None,
        ),
    )
    return status


def _seat(pid: str, seat_id: str) -> m.Seat:
    return m.Seat.get(k.purchase_pk(pid), k.seat_sk(seat_id))


@pytest.fixture
def pid(aws: None, clock: object) -> str:
    return factories.paid_purchase(quantity=3)


def test_given_accept_language_de_when_inviting_then_the_seat_keeps_german_for_both_readers(pid: str) -> None:
    assert (
        _invite(pid, [{"email": "a@example.com"}], claims=g.who(), language="de-DE,de;q=0.9,en;q=0.5") == 201
    )

    invited = _seat(pid, "0001")
    assert (invited.recipient_locale, invited.buyer_locale) == ("de", "de")


def test_given_a_locale_claim_when_inviting_then_the_claim_wins_over_accept_language(pid: str) -> None:
    assert (
        _invite(pid, [{"email": "a@example.com"}], claims={**g.who(), "locale": "en-GB"}, language="de")
        == 201
    )

    assert _seat(pid, "0001").recipient_locale == "en"


def test_given_rows_with_their_own_locale_when_inviting_then_each_recipient_gets_theirs(pid: str) -> None:
    rows = [
        {"email": "a@example.com", "locale": "de-AT"},
        {"email": "b@example.com", "locale": "fr"},
        {"email": "c@example.com"},
    ]
    assert _invite(pid, rows, claims=g.who(), language="de") == 201

    # The row's (de-AT is German), an unsupported one reads English, else the buyer's (German).
    assert [_seat(pid, s).recipient_locale for s in ("0001", "0002", "0003")] == ["de", "en", "de"]


def test_given_german_recipient_and_english_buyer_when_seat_changes_then_each_reads_their_language() -> None:
    available = seat()
    invited = change(
        available,
        state="invited",
        last_action="invite",
        recipient_email="zoe@example.com",
        nonce="n" * 32,
        recipient_locale="de",
        buyer_locale="en",
    )
    accepted = change(invited, state="accepted", last_action="accept", recipient_sub="zoe")

    invitation = next(n.email for n in notices_for(record(available, invited)) if n.email)
    to_buyer = next(n.email for n in notices_for(record(invited, accepted)) if n.email)

    assert invitation.params["locale"] == "de"
    assert "schenkt Ihnen" in rendering.render(invitation.template, invitation.params).subject
    assert to_buyer.template == "invitation_accepted" and to_buyer.params["locale"] == "en"
    assert "accepted your" in rendering.render(to_buyer.template, to_buyer.params).subject


def test_given_an_unknown_buyer_locale_when_a_seat_changes_then_no_locale_is_sent_and_english_is_read() -> (
    None
):
    available = seat()
    invited = change(
        available, state="invited", last_action="invite", recipient_email="z@example.com", nonce="n" * 32
    )

    invitation = next(n.email for n in notices_for(record(available, invited)) if n.email)

    assert "locale" not in invitation.params
    assert "gave you" in rendering.render(invitation.template, invitation.params).subject


@pytest.mark.parametrize(
    ("claim", "header", "expected"),
    [
        (None, "de-CH, en;q=0.8", "de"),
        (None, "fr-FR, en;q=0.1, de;q=0.5", "de"),
        (None, "fr, es", None),
        ("de", "en", "de"),
        ("fr", "de", "de"),  # a claim we cannot serve: the header decides
        (None, None, None),
        (None, "de;q=0", None),
    ],
)
def test_given_claims_and_headers_when_choosing_then_the_reader_gets_their_best_supported_language(
    claim: str | None, header: str | None, expected: str | None
) -> None:
    assert locales.of_request(claim, header) == expected


def test_given_a_checkout_in_german_when_fulfilled_then_purchase_and_seats_keep_the_buyers_language(
    aws: None, clock: object
) -> None:
    from giftplans import clock as real_clock
    from giftplans.purchases import fulfilment
    from giftplans.stripe_facts import GiftCheckout

    facts = GiftCheckout(
        session_id="cs_test_locale_de",
        buyer_id="buyer-de",
        buyer_email="kaeufer@example.com",
        buyer_name=None,
        plan="pro",
        quantity=2,
        currency="eur",
        amount_subtotal=48000,
        amount_total=48000,
        payment_intent="pi_test_locale_de",
        buyer_locale="de",
    )
    pid = fulfilment.record_checkout(facts, "paid", real_clock.now())

    bought = m.Purchase.get(k.purchase_pk(pid), k.PURCHASE_SK)
    assert bought.buyer_locale == "de"
    assert {_seat(pid, s).buyer_locale for s in ("0001", "0002")} == {"de"}
    receipt = next(n.email for n in notices_for(record(None, bought)) if n.email)
    assert receipt.params["locale"] == "de"
    assert rendering.render(receipt.template, receipt.params).subject.startswith("Ihre Quittung")
