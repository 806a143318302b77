"""GET /me/entitlement: one read, active decided at the clock's now (SPEC rule 9)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from giftplans import clock as real_clock
from giftplans.store import keys as k
from giftplans.store import models as m

from tests.support import factories
from tests.support import gifts as g

ANN = g.who("ann-sub", "ann@example.com")


def test_given_no_entitlement_when_asked_then_inactive_nulls(aws: None, clock: object) -> None:
    assert g.entitlement(ANN) == (
        200,
        {
            "active": False,
            "plan": None,
            "source": None,
            "term_end": None,
            "auto_renew": False,
            "grace_until": None,
            "days_left": None,
            "gift_from": None,
            "first_charge": None,
        },
    )


def test_given_no_identity_when_asked_then_401(aws: None, clock: object) -> None:
    from tests.support.apigw import call, http_event

    assert call("me_api", http_event("GET", "/me/entitlement"))[0] == 401


def test_given_ended_flag_when_asked_then_inactive_even_before_term_end(aws: None, clock: object) -> None:
    m.Entitlement(
        k.account_pk("ann-sub"),
        k.ENTITLEMENT_SK,
        sub="ann-sub",
        sub_plan="pro",
        sub_status="ended",
        sub_term_end="2026-09-01T00:00:00Z",
        sub_term_end_ts=real_clock.epoch(real_clock.now()) + 86400,
        auto_renew=True,
        updated_at="x",
    ).save()
    body = g.entitlement(ANN)[1]
    assert (body["active"], body["auto_renew"], body["plan"]) == (False, False, "pro")


def test_given_one_second_after_term_end_when_invite_accept_claim_then_4xx_and_entitlement_inactive(
    aws: None, clock: object
) -> None:
    pid = factories.paid_purchase(quantity=4)
    g.invite(pid, "ann@example.com", "bob@example.com")
    assert g.accept(g.link(pid, "0001"), ANN)[0] == 200
    bob_link = g.link(pid, "0002")
    assert g.entitlement(ANN)[1]["active"] is True

    real_clock.freeze(real_clock.parse_iso(g.purchase(pid).term_end) + timedelta(seconds=1))  # no sweep ran

    for status, body in (
        g.invite(pid, "cy@example.com"),
        g.accept(bob_link, g.who("bob", "bob@example.com")),
        g.claim(pid),
    ):
        assert 400 <= status < 500 and status != 404
        assert set(body["error"]) >= {"code", "message"}
    body = g.entitlement(ANN)[1]
    assert (body["active"], body["plan"], body["source"]) == (False, "pro", "gift")


def test_given_last_second_of_term_when_asked_then_still_active(aws: None, clock: object) -> None:
    pid = factories.paid_purchase(quantity=2)
    g.invite(pid, "ann@example.com")
    g.accept(g.link(pid, "0001"), ANN)
    real_clock.freeze(real_clock.parse_iso(g.purchase(pid).term_end) - timedelta(seconds=1))
    assert g.entitlement(ANN)[1]["active"] is True


@pytest.mark.parametrize("source", ["gift", "claim"])
def test_given_gift_or_claim_when_asked_then_it_never_renews(aws: None, clock: object, source: str) -> None:
    pid = factories.paid_purchase(quantity=2)
    if source == "gift":
        g.invite(pid, "ann@example.com")
        g.accept(g.link(pid, "0001"), ANN)
        who = ANN
    else:
        g.claim(pid)
        who = g.who()
    body = g.entitlement(who)[1]
    assert (body["source"], body["auto_renew"], body["active"]) == (source, False, True)


def test_given_an_accepted_gift_when_asked_then_days_left_counts_down_and_gift_from_names_the_buyer(
    aws: None, clock: object
) -> None:
    pid = factories.paid_purchase(quantity=2)
    g.invite(pid, "ann@example.com")
    g.accept(g.link(pid, "0001"), ANN)
    body = g.entitlement(ANN)[1]
    assert (body["days_left"], body["gift_from"]) == (365, "b***@e***.com")

    real_clock.freeze(real_clock.now() + timedelta(days=100))
    assert g.entitlement(ANN)[1]["days_left"] == 265

    real_clock.freeze(real_clock.parse_iso(g.purchase(pid).term_end) + timedelta(seconds=1))
    body = g.entitlement(ANN)[1]
    assert (body["active"], body["days_left"], body["gift_from"]) == (False, 0, "b***@e***.com")


def test_given_the_buyer_chose_a_name_when_the_recipient_asks_then_gift_from_is_that_name(
    aws: None, clock: object
) -> None:
    pid = factories.paid_purchase(quantity=2)
    g.invite(pid, "ann@example.com")
    seat = g.seat(pid, "0001")
    seat.update(actions=[m.Seat.buyer_name.set("Bea from Acme")])
    g.accept(g.link(pid, "0001"), ANN)
    assert g.entitlement(ANN)[1]["gift_from"] == "Bea from Acme"


def test_given_a_claimed_seat_when_asked_then_no_gift_from(aws: None, clock: object) -> None:
    pid = factories.paid_purchase(quantity=2)
    g.claim(pid)
    body = g.entitlement(g.who())[1]
    assert (body["source"], body["gift_from"], body["days_left"]) == ("claim", None, 365)
