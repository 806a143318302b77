"""Black-box walkthroughs of issues 4, 5 and 6 against `python -m local.server` (one server for the module).

Each test sets the local clock it needs, uses its own accounts and addresses, and reads what
a person would read: API answers and the mail in `/_local/mail`. Stream records (mail,
events) are delivered with `POST /_local/stream/drain`, never by sleeping. Every purchase
here is made on BOUGHT_AT, so the sweeps only ever look back a few weeks.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.local.conftest import Server, assert_error_shape

pytestmark = pytest.mark.local

BOUGHT_AT = "2026-03-01T12:00:00Z"  # the worked example of issue 6: 100 days later, 265 of 365 days are left
ACCEPT_LINK = re.compile(r"/accept\?token=([A-Za-z0-9._~-]+)")
VERIFY_LINK = re.compile(r"/verify\?token=([A-Za-z0-9._~-]+)")


@pytest.fixture(autouse=True)
def bought_at(server: Server) -> Iterator[None]:
    """Every test starts on BOUGHT_AT and leaves the clock as it found it (real time)."""
    server.set_clock(BOUGHT_AT)
    yield
    server.reset_clock()


class Person:
    """An account on the local server: its bearer token and address (unique per test)."""

    def __init__(self, server: Server, role: str, *, verified: bool = True) -> None:
        sub = f"{role}-{uuid.uuid4().hex[:10]}"
        self.email = f"{sub}@example.com"
        self.token, _ = server.token(sub=sub, email=self.email, verified=verified)


def at(instant: str, **delta: float) -> str:
    moved = datetime.fromisoformat(instant.replace("Z", "+00:00")) + timedelta(**delta)
    return moved.strftime("%Y-%m-%dT%H:%M:%SZ")


def only(messages: list[dict[str, Any]], subject: str) -> dict[str, Any]:
    """The one message whose subject contains `subject`."""
    found = [m for m in messages if subject in m["subject"]]
    assert len(found) == 1, [m["subject"] for m in messages]
    return found[0]


def link_token(message: dict[str, Any], pattern: re.Pattern[str] = ACCEPT_LINK) -> str:
    found = pattern.search(message["text"])
    assert found, message["text"]
    assert found.group(1) in message["html"]  # the HTML carries the same link
    return found.group(1)


def detail(server: Server, buyer: Person, purchase_id: str) -> dict[str, Any]:
    return server.ok(server.get(f"/purchases/{purchase_id}", buyer.token))  # type: ignore[no-any-return]


def states(purchase: dict[str, Any]) -> dict[str, str]:
    return {seat["seat_id"]: seat["state"] for seat in purchase["seats"]}


def assert_counts_add_up(purchase: dict[str, Any]) -> None:
    counts = purchase["purchase"]["seat_counts"]
    from_seats = {state: 0 for state in counts}
    for seat in purchase["seats"]:
        from_seats[seat["state"]] += 1
    assert counts == from_seats
    assert sum(counts.values()) == purchase["purchase"]["quantity"] == len(purchase["seats"])


def invite(server: Server, buyer: Person, purchase_id: str, *recipients: Person) -> list[dict[str, Any]]:
    rows = [{"email": r.email} for r in recipients]
    answer = server.post(f"/purchases/{purchase_id}/invitations", {"invitations": rows}, buyer.token)
    body = server.ok(answer, 201)
    return body["seats"]  # type: ignore[no-any-return]


def invite_and_accept(server: Server, buyer: Person, purchase_id: str, recipient: Person) -> str:
    (seat,) = invite(server, buyer, purchase_id, recipient)
    token = link_token(only(server.mail(recipient.email), "gave you"))
    server.ok(server.post("/invitations/accept", {"token": token}, recipient.token))
    return str(seat["seat_id"])


def entitlement(server: Server, person: Person) -> dict[str, Any]:
    return server.ok(server.get("/me/entitlement", person.token))  # type: ignore[no-any-return]


# ---- issue 4: invitations, verification, accept, revoke, claim --------------------------------------------


def test_given_unverified_buyer_when_verified_invites_two_revokes_one_other_accepts_then_claim_counts_add_up(
    server: Server,
) -> None:
    buyer = Person(server, "buyer", verified=False)
    alice, bob = Person(server, "alice"), Person(server, "bob")
    purchase_id = server.buy(buyer.token, quantity=3)

    # Unverified non-subscriber: no invitation.
    refused = server.post(
        f"/purchases/{purchase_id}/invitations", {"invitations": [{"email": alice.email}]}, buyer.token
    )
    assert refused.status_code == 403, refused.text
    assert_error_shape(refused)

    # This service's own verification: a mailed link, confirmed.
    server.ok(server.post("/me/email-verification", None, buyer.token), 202)
    verify_token = link_token(only(server.mail(buyer.email), "Confirm your email"), VERIFY_LINK)
    assert server.ok(server.post("/me/email-verification/confirm", {"token": verify_token}, buyer.token)) == {
        "verified": True
    }

    seats = invite(server, buyer, purchase_id, alice, bob)
    assert [s["state"] for s in seats] == ["invited", "invited"]
    alice_seat, bob_seat = (s["seat_id"] for s in seats)
    alice_token = link_token(only(server.mail(alice.email), "gave you"))
    bob_mail = only(server.mail(bob.email), "gave you")
    bob_token = link_token(bob_mail)
    assert bob_token not in str(server.ok(server.get(f"/purchases/{purchase_id}", buyer.token)))

    preview = server.ok(server.get(f"/invitations/{bob_token}"))
    assert preview["plan"] == "pro"
    assert preview["state"] == "invited"
    assert preview["term_end"].startswith("2027-03-01")
    assert set(preview) == {"plan", "sender", "term_end", "state", "from_name", "from_email", "message"}

    # Revoke Alice's: her link dies, and she is told.
    server.ok(server.post(f"/purchases/{purchase_id}/seats/{alice_seat}/revoke", None, buyer.token))
    dead = server.get(f"/invitations/{alice_token}")
    assert dead.status_code == 410, dead.text
    assert_error_shape(dead)
    refused_accept = server.post("/invitations/accept", {"token": alice_token}, alice.token)
    assert 400 <= refused_accept.status_code < 500, refused_accept.text
    assert_error_shape(refused_accept)
    only(server.mail(alice.email), "was withdrawn")

    # Bob accepts: a gift until the term's end; the buyer is told.
    accepted = server.ok(server.post("/invitations/accept", {"token": bob_token}, bob.token))
    assert accepted["entitlement"]["active"] is True
    assert accepted["entitlement"]["source"] == "gift"
    assert entitlement(server, bob)["plan"] == "pro"
    only(server.mail(buyer.email), "accepted your")
    assert server.ok(server.get(f"/invitations/{bob_token}"))["state"] == "accepted"

    # The buyer bought 3 (more than one) and has no plan: one seat for themself.
    claimed = server.ok(server.post(f"/purchases/{purchase_id}/claim", None, buyer.token))["seat"]
    assert claimed["state"] == "claimed"
    assert entitlement(server, buyer)["source"] == "claim"
    again = server.post(f"/purchases/{purchase_id}/claim", None, buyer.token)
    assert again.status_code == 409, again.text

    purchase = detail(server, buyer, purchase_id)
    assert_counts_add_up(purchase)
    assert states(purchase)[bob_seat] == "accepted"
    assert purchase["purchase"]["seat_counts"] == {
        "available": 1,
        "invited": 0,
        "accepted": 1,
        "claimed": 1,
        "upgraded": 0,
        "expired": 0,
        "cancelled": 0,
    }


def test_given_invitation_when_someone_else_accepts_then_403_and_seat_still_invited(server: Server) -> None:
    buyer, carol, mallory = Person(server, "buyer"), Person(server, "carol"), Person(server, "mallory")
    purchase_id = server.buy(buyer.token, quantity=2)
    (seat,) = invite(server, buyer, purchase_id, carol)
    token = link_token(only(server.mail(carol.email), "gave you"))

    wrong = server.post("/invitations/accept", {"token": token}, mallory.token)

    assert wrong.status_code == 403, wrong.text
    assert_error_shape(wrong)
    assert states(detail(server, buyer, purchase_id))[seat["seat_id"]] == "invited"
    assert entitlement(server, mallory)["active"] is False


# ---- issue 5: expiry and reminders through the clock and the sweep ----------------------------------------


def test_given_term_over_when_sweep_runs_then_every_seat_expired_and_notices_mailed_once(
    server: Server,
) -> None:
    buyer, dana, erin = Person(server, "buyer"), Person(server, "dana"), Person(server, "erin")
    purchase_id = server.buy(buyer.token, quantity=3)
    dana_seat = invite_and_accept(server, buyer, purchase_id, dana)
    invite(server, buyer, purchase_id, erin)  # never accepted
    erin_token = link_token(only(server.mail(erin.email), "gave you"))
    term_end = detail(server, buyer, purchase_id)["purchase"]["term_end"]

    server.set_clock(at(term_end, days=1, hours=3))  # the expiry milestone is the day after term_end
    first = server.ok(server.post("/_local/sweep"))
    second = server.ok(server.post("/_local/sweep"))

    assert first["expired"] >= 3
    assert second["expired"] == 0
    purchase = detail(server, buyer, purchase_id)
    assert set(states(purchase).values()) == {"expired"}
    assert purchase["purchase"]["seat_counts"]["expired"] == 3
    assert_counts_add_up(purchase)
    assert states(purchase)[dana_seat] == "expired"
    assert entitlement(server, dana)["active"] is False
    assert server.get(f"/invitations/{erin_token}").status_code == 410
    only(server.mail(dana.email), "has ended")  # "your plan has ended, renew here", once
    summary = only(server.mail(buyer.email), "never used")
    assert summary["subject"].endswith(": 2 never used")  # one seat never invited, one never accepted
    assert not [m for m in server.mail(erin.email) if "has ended" in m["subject"]]


def test_given_months_without_sweep_when_clock_jumps_past_backfill_then_expired_and_no_late_reminders(
    server: Server,
) -> None:
    buyer, ivan = Person(server, "buyer"), Person(server, "ivan")
    purchase_id = server.buy(buyer.token, quantity=1)
    invite_and_accept(server, buyer, purchase_id, ivan)
    term_end = detail(server, buyer, purchase_id)["purchase"]["term_end"]

    server.set_clock(
        at(term_end, days=45)
    )  # the reminders fell due 75 and 52 days ago: beyond a 31-day backfill
    server.ok(server.post("/_local/sweep"))

    assert set(states(detail(server, buyer, purchase_id)).values()) == {"expired"}
    subjects = [m["subject"] for m in server.mail(ivan.email)]
    assert [s for s in subjects if "has ended" in s] == ["Your Pro plan has ended"]
    assert not [s for s in subjects if "ends in" in s]  # no late "30 days left" after the end


def test_given_accepted_gift_when_30_days_left_and_sweep_runs_twice_then_one_reminder_each(
    server: Server,
) -> None:
    buyer, frank = Person(server, "buyer"), Person(server, "frank")
    purchase_id = server.buy(buyer.token, quantity=2)
    invite_and_accept(server, buyer, purchase_id, frank)
    term_end = detail(server, buyer, purchase_id)["purchase"]["term_end"]

    server.set_clock(at(term_end, days=-30, hours=3))
    server.ok(server.post("/_local/sweep"))
    server.ok(server.post("/_local/sweep"))

    reminder = only(server.mail(frank.email), "ends in 30 days")
    assert reminder["text"] and reminder["html"]
    only(server.mail(buyer.email), "still unassigned")  # one seat was never given
    assert entitlement(server, frank)["active"] is True
    assert set(states(detail(server, buyer, purchase_id)).values()) == {"accepted", "available"}


# ---- issue 6: upgrade with credit, refund ------------------------------------------------------------------


def test_given_accepted_pro_gift_when_upgraded_to_team_after_100_days_then_subscription_and_seat_upgraded(
    server: Server,
) -> None:
    buyer, gina = Person(server, "buyer"), Person(server, "gina")
    purchase_id = server.buy(buyer.token, plan="pro", quantity=2)
    seat_id = invite_and_accept(server, buyer, purchase_id, gina)

    server.set_clock(at(BOUGHT_AT, days=100))
    quote = server.ok(server.post("/me/upgrade/quote", {"plan": "team"}, gina.token))
    assert (quote["remaining_days"], quote["term_days"]) == (265, 365)
    assert (quote["credit"], quote["amount_due"], quote["target_price"]) == (17425, 30575, 48000)
    checkout = server.ok(server.post("/me/upgrade/checkout", {"plan": "team"}, gina.token), 201)
    assert checkout["quote"]["credit"] == 17425
    session = server.get(f"/_local/pay/{checkout['session_id']}")
    assert session.status_code == 200
    assert "305.75" in session.text  # the coupon took the credit off the first year

    completed = server.ok(
        server.post(f"/_local/checkout/{checkout['session_id']}/complete", {"payment_status": "paid"})
    )

    assert completed["webhook"]["status"] == 200
    assert all(d["webhook"]["status"] == 200 for d in completed.get("also", []))
    mine = entitlement(server, gina)
    assert (mine["active"], mine["plan"], mine["source"]) == (True, "team", "subscription")
    purchase = detail(server, buyer, purchase_id)
    assert states(purchase)[seat_id] == "upgraded"
    assert_counts_add_up(purchase)
    only(server.mail(gina.email), "You are now on Team")


def test_given_accepted_gift_when_purchase_fully_refunded_then_seats_cancelled_and_plan_ends(
    server: Server,
) -> None:
    buyer, hana = Person(server, "buyer"), Person(server, "hana")
    purchase_id = server.buy(buyer.token, quantity=2)
    invite_and_accept(server, buyer, purchase_id, hana)

    refunded = server.ok(server.post(f"/_local/refund/{purchase_id}"))

    assert refunded["webhook"]["status"] == 200
    purchase = detail(server, buyer, purchase_id)
    assert purchase["purchase"]["status"] == "refunded"
    assert set(states(purchase).values()) == {"cancelled"}
    assert_counts_add_up(purchase)
    assert entitlement(server, hana)["active"] is False
    only(server.mail(hana.email), "cancelled")
    only(server.mail(buyer.email), "was refunded")


# ---- rule 7: renewal -------------------------------------------------------------------------------------


def test_given_accepted_pro_gift_when_renewed_at_same_tier_then_trialing_subscription_until_gift_ends(
    server: Server,
) -> None:
    buyer, rosa = Person(server, "buyer"), Person(server, "rosa")
    purchase_id = server.buy(buyer.token, plan="pro", quantity=1)
    invite_and_accept(server, buyer, purchase_id, rosa)
    gift_end = entitlement(server, rosa)["term_end"]

    server.set_clock(at(BOUGHT_AT, days=340))
    checkout = server.ok(server.post("/me/renewal/checkout", {"plan": "pro"}, rosa.token), 201)
    assert (checkout["plan"], checkout["starts_billing_at"]) == ("pro", gift_end)
    completed = server.ok(
        server.post(f"/_local/checkout/{checkout['session_id']}/complete", {"payment_status": "paid"})
    )

    assert completed["webhook"]["status"] == 200
    assert all(d["webhook"]["status"] == 200 for d in completed.get("also", []))
    mine = entitlement(server, rosa)
    assert (mine["active"], mine["plan"], mine["source"]) == (True, "pro", "subscription")
    assert mine["term_end"] == gift_end  # the trial ends when the gift does; billing starts then
    assert mine["auto_renew"] is True
    again = server.post("/me/renewal/checkout", {"plan": "team"}, rosa.token)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_subscribed")
