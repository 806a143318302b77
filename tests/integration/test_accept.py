"""Accept (SPEC rules 3 and 6): the invited, verified address takes the seat and what is left of the term."""

from __future__ import annotations

from datetime import timedelta

import pytest
from giftplans import clock as real_clock
from giftplans.store import keys as k
from giftplans.store import models as m

from tests.support import factories
from tests.support import gifts as g

ANN = g.who("ann-sub", "ann@example.com")


@pytest.fixture
def pid(aws: None, clock: object) -> str:
    purchase_id = factories.paid_purchase(quantity=3)
    assert g.invite(purchase_id, "Ann@Example.com")[0] == 201
    return purchase_id


def test_given_invited_address_when_accepted_then_200_seat_accepted_and_entitlement_written(pid: str) -> None:
    status, body = g.accept(g.link(pid, "0001"), ANN)

    assert status == 200
    assert body == {
        "entitlement": {
            "active": True,
            "plan": "pro",
            "source": "gift",
            "term_end": "2027-03-01T12:00:00Z",
            "auto_renew": False,
            "grace_until": None,
            "days_left": 365,
            "gift_from": None,  # accept reads nothing first; My plan names the sender (givers)
            "first_charge": None,
        },
        "credited": 0,
    }
    assert g.entitlement(ANN)[1]["gift_from"] == "b***@e***.com"
    seat = g.seat(pid, "0001")
    assert (seat.state, seat.recipient_sub, seat.last_action, seat.actor, seat.version) == (
        "accepted",
        "ann-sub",
        "accept",
        "recipient",
        3,
    )
    assert seat.nonce is None and seat.token_hash is None and seat.accepted_at == "2026-03-01T12:00:00Z"
    counts = g.purchase(pid).seat_counts
    assert (counts.invited, counts.accepted) == (0, 1)
    ent = m.Entitlement.get(k.account_pk("ann-sub"), k.ENTITLEMENT_SK)
    assert (ent.source, ent.purchase_id, ent.seat_id, ent.auto_renew, ent.ended) == (
        "gift",
        pid,
        "0001",
        False,
        False,
    )
    assert "seat.accepted" in g.audit_kinds(pid)


def test_given_another_signed_in_address_when_accepting_then_403_says_so_without_revealing_the_address(
    pid: str,
) -> None:
    status, body = g.accept(g.link(pid, "0001"), g.who("eve", "eve@example.com"))

    assert (status, body["error"]["code"]) == (403, "email_mismatch")
    assert "another address" in body["error"]["message"] and "sign in" in body["error"]["message"]
    assert "ann@example.com" not in body["error"]["message"].lower()
    assert g.seat(pid, "0001").state == "invited"


def test_given_unverified_jwt_and_no_verification_when_accepting_then_403_email_not_verified(
    pid: str,
) -> None:
    status, body = g.accept(g.link(pid, "0001"), g.who("ann-sub", "ann@example.com", verified=False))
    assert (status, body["error"]["code"]) == (403, "email_not_verified")
    assert g.seat(pid, "0001").state == "invited"


def test_given_unverified_jwt_but_service_verified_address_when_accepting_then_200(pid: str) -> None:
    m.Profile(k.account_pk("ann-sub"), k.PROFILE_SK, sub="ann-sub", verified_email="ann@example.com").save()
    assert g.accept(g.link(pid, "0001"), g.who("ann-sub", "ann@example.com", verified=False))[0] == 200


def test_given_active_plan_when_accepting_then_credited_and_the_plan_kept(pid: str, stripe: object) -> None:
    other = factories.paid_purchase(buyer_sub="b2", buyer_email="b2@example.com", plan="team", quantity=1)
    g.invite(other, "ann@example.com", as_=g.who("b2", "b2@example.com"))
    assert g.accept(g.link(other, "0001"), ANN)[0] == 200

    status, body = g.accept(g.link(pid, "0001"), ANN)

    assert (status, body["credited"]) == (200, 24000)  # SPEC 8.5 (tests/integration/test_accept_credit.py)
    assert (body["entitlement"]["plan"], body["entitlement"]["term_end"]) == ("team", "2027-03-01T12:00:00Z")
    assert g.seat(pid, "0001").state == "accepted"


def test_given_plan_that_ended_unswept_when_accepting_then_the_new_gift_is_written(pid: str) -> None:
    m.Entitlement(
        k.account_pk("ann-sub"),
        k.ENTITLEMENT_SK,
        sub="ann-sub",
        plan="team",
        source="gift",
        term_end="2026-03-01T11:00:00Z",
        term_end_ts=real_clock.epoch(real_clock.now()) - 3600,
        updated_at="x",
    ).save()
    assert g.accept(g.link(pid, "0001"), ANN)[1]["entitlement"]["plan"] == "pro"


def test_given_late_acceptance_when_accepted_then_term_end_is_the_purchases_not_extended(pid: str) -> None:
    real_clock.freeze(real_clock.now() + timedelta(days=200))
    status, body = g.accept(g.link(pid, "0001"), ANN)
    assert (status, body["entitlement"]["term_end"]) == (200, g.purchase(pid).term_end)


def test_given_accepted_link_when_accepted_again_then_409(pid: str) -> None:
    token = g.link(pid, "0001")
    g.accept(token, ANN)
    status, body = g.accept(token, ANN)
    assert (status, body["error"]["code"]) == (409, "invitation_already_accepted")


@pytest.mark.parametrize("token", ["nonsense", "pur_x.0001.pro.1.abc"])
def test_given_malformed_token_when_accepting_then_404_invitation_not_found(pid: str, token: str) -> None:
    status, body = g.accept(token, ANN)
    assert (status, body["error"]["code"]) == (404, "invitation_not_found")


def test_given_token_with_a_tampered_term_end_when_accepting_then_404(pid: str) -> None:
    token = g.link(pid, "0001")
    parts = token.split(".")
    parts[3] = str(int(parts[3]) + 86400)
    assert g.accept(".".join(parts), ANN)[0] == 404
    assert g.seat(pid, "0001").state == "invited"


def test_given_no_identity_when_accepting_then_401(pid: str) -> None:
    from tests.support.apigw import call, http_event

    status, body = call(
        "invitations_api", http_event("POST", "/invitations/accept", body={"token": g.link(pid, "0001")})
    )
    assert (status, body["error"]["code"]) == (401, "unauthenticated")


def test_given_term_ended_when_accepting_then_410_invitation_expired(pid: str) -> None:
    token = g.link(pid, "0001")
    real_clock.freeze(real_clock.parse_iso("2027-03-01T12:00:01Z"))
    status, body = g.accept(token, ANN)
    assert (status, body["error"]["code"]) == (410, "invitation_expired")
