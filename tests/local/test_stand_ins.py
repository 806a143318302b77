"""Black-box: the local stand-ins fail and move as AWS and Stripe do (issue 13), over HTTP only.

One server for the module. SES's mailbox simulator reports bounces and complaints through
the template's SNS topic to `ses_feedback`; the Stripe stand-in follows the test clock
(sessions close at `expires_at`, trials end and subscriptions renew on the calendar),
refuses what Stripe refuses, and its pages show what is bought; each function's log lines
carry that function's name.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from tests.local.conftest import Server

pytestmark = pytest.mark.local

START = "2027-01-10T10:00:00Z"
ACCEPT_LINK = re.compile(r"/accept\?token=([A-Za-z0-9._~-]+)")


@pytest.fixture(scope="module", autouse=True)
def clock_from_start(server: Server) -> Iterator[None]:
    server.set_clock(START)
    yield
    server.reset_clock()


class Person:
    def __init__(self, server: Server, role: str) -> None:
        self.sub = f"{role}-{uuid.uuid4().hex[:10]}"
        self.email = f"{self.sub}@example.com"
        self.token, _ = server.token(sub=self.sub, email=self.email, verified=True)


def now(server: Server) -> datetime:
    return datetime.fromisoformat(server.ok(server.get("/_local/clock"))["now"].replace("Z", "+00:00"))


def move(server: Server, **delta: float) -> dict[str, Any]:
    target = (now(server) + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return server.ok(server.post("/_local/clock", {"now": target}))  # type: ignore[no-any-return]


def invite(server: Server, buyer: Person, purchase_id: str, *emails: str) -> list[dict[str, Any]]:
    rows = [{"email": e} for e in emails]
    answer = server.post(f"/purchases/{purchase_id}/invitations", {"invitations": rows}, buyer.token)
    return server.ok(answer, 201)["seats"]  # type: ignore[no-any-return]


def accepted_gift(server: Server, plan: str = "pro") -> tuple[Person, Person, str]:
    """A buyer, a recipient who accepted one seat of the buyer's fresh purchase, and the purchase."""
    buyer, recipient = Person(server, "buyer"), Person(server, "gina")
    purchase_id = server.buy(buyer.token, plan=plan, quantity=2)
    invite(server, buyer, purchase_id, recipient.email)
    (message,) = [m for m in server.mail(recipient.email) if "gave you" in m["subject"]]
    token = ACCEPT_LINK.search(message["text"])
    assert token, message["text"]
    server.ok(server.post("/invitations/accept", {"token": token.group(1)}, recipient.token))
    return buyer, recipient, purchase_id


def entitlement(server: Server, person: Person) -> dict[str, Any]:
    return server.ok(server.get("/me/entitlement", person.token))  # type: ignore[no-any-return]


# ---- SES's mailbox simulator ------------------------------------------------------------------------------


def test_given_simulator_addresses_when_invited_then_bounce_and_complaint_come_back_through_sns_to_the_seat(
    server: Server,
) -> None:
    buyer = Person(server, "buyer")
    purchase_id = server.buy(buyer.token, quantity=3)
    invite(
        server,
        buyer,
        purchase_id,
        "bounce@simulator.amazonses.com",
        "complaint@simulator.amazonses.com",
        "success@simulator.amazonses.com",
    )

    server.drain()

    seats = server.ok(server.get(f"/purchases/{purchase_id}", buyer.token))["seats"]
    delivery = {s["recipient_email"]: s["delivery"] for s in seats if s["recipient_email"]}
    assert delivery == {
        "bounce@simulator.amazonses.com": "bounced",
        "complaint@simulator.amazonses.com": "bounced",  # rule 12: a complaint reads as a bounce
        "success@simulator.amazonses.com": "sent",
    }
    assert all(s["state"] == "invited" for s in seats if s["recipient_email"])  # the buyer may revoke


# ---- Stripe's test clock -----------------------------------------------------------------------------------


def test_given_an_upgrade_session_when_paid_three_hours_later_then_refused_as_expired_and_nothing_upgraded(
    server: Server,
) -> None:
    _, recipient, _ = accepted_gift(server)
    checkout = server.ok(server.post("/me/upgrade/checkout", {"plan": "team"}, recipient.token), 201)

    moved = move(server, hours=3)
    late = server.post(f"/_local/checkout/{checkout['session_id']}/complete", {"payment_status": "paid"})

    expired = [d["event"]["type"] for d in moved.get("stripe", [])]
    assert "checkout.session.expired" in expired
    assert late.status_code == 400
    assert late.json()["error"]["code"] == "checkout_session_expired"
    mine = entitlement(server, recipient)
    assert (mine["active"], mine["plan"], mine["source"]) == (True, "pro", "gift")
    page = server.get(f"/_local/pay/{checkout['session_id']}")
    assert page.status_code == 400 and "expired" in page.text


def test_given_a_renewal_when_the_gift_ends_and_a_year_passes_then_the_subscription_stays_active(
    server: Server,
) -> None:
    _, recipient, _ = accepted_gift(server)
    gift_end = entitlement(server, recipient)["term_end"]
    move(server, days=340)
    checkout = server.ok(server.post("/me/renewal/checkout", {"plan": "pro"}, recipient.token), 201)
    server.ok(server.post(f"/_local/checkout/{checkout['session_id']}/complete", {"payment_status": "paid"}))
    assert entitlement(server, recipient)["term_end"] == gift_end  # trialing until the gift ends

    past_trial = move(server, days=40)  # the trial ends: billing starts, a year from the gift's end
    mine = entitlement(server, recipient)
    a_year = move(server, days=366)  # a renewal on the same date next year

    types = [d["event"]["type"] for d in past_trial["stripe"]]
    assert "customer.subscription.trial_will_end" in types
    assert types.count("customer.subscription.updated") == 1 and "invoice.paid" in types
    assert all(d["webhook"]["status"] == 200 for d in past_trial["stripe"] + a_year["stripe"])
    end = datetime.fromisoformat(gift_end.replace("Z", "+00:00"))
    assert (mine["active"], mine["source"]) == (True, "subscription")
    assert mine["term_end"][:10] == end.replace(year=end.year + 1).date().isoformat()  # the same date
    renewed = entitlement(server, recipient)
    assert (renewed["active"], renewed["source"], renewed["auto_renew"]) == (True, "subscription", True)
    assert renewed["term_end"][:10] == end.replace(year=end.year + 2).date().isoformat()


# ---- Stripe's types and pages ---------------------------------------------------------------------------


def test_given_a_request_with_one_wrong_parameter_when_sent_to_the_local_stripe_then_stripes_400(
    server: Server,
) -> None:
    answer = requests.post(
        f"{server.url}/_stripe/v1/checkout/sessions",
        data={"mode": "payment", "line_items[0][price]": "price_pro_yearly_gift", "quantity": "3"},
        headers={"Authorization": "Bearer sk_test_local_stub"},
        timeout=10,
    )

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "parameter_unknown",
        "quantity",
    )
    assert error["message"] == "Received unknown parameter: quantity"


def test_given_a_checkout_when_its_pay_page_is_opened_then_plan_names_amounts_and_a_cancel_back(
    server: Server,
) -> None:
    buyer = Person(server, "buyer")
    session = server.ok(server.post("/checkout/sessions", {"plan": "pro", "quantity": 3}, buyer.token), 201)

    page = server.get(f"/_local/pay/{session['session_id']}")
    cancel = requests.post(
        f"{server.url}/_local/pay/{session['session_id']}",
        data={"action": "cancel"},
        allow_redirects=False,
        timeout=10,
    )

    assert page.status_code == 200
    assert "Pro plan for 1 year, for others" in page.text
    assert "price_pro" not in page.text  # no raw price ids
    assert "240.00 USD" in page.text and "720.00 USD" in page.text
    assert 'id="cancel"' in page.text
    assert (cancel.status_code, cancel.headers["Location"]) == (303, f"{server.url}/")


def test_given_any_port_when_the_api_docs_open_then_try_it_out_targets_this_server(server: Server) -> None:
    page = server.get("/docs")

    assert "window.location.origin" in page.text
    assert "127.0.0.1:3000" not in page.text


# ---- log lines name their function -----------------------------------------------------------------------


def test_given_functions_ran_concurrently_when_their_logs_are_read_then_each_line_names_its_own_function(
    server: Server,
) -> None:
    expected = {
        "gift checkout recorded": "gift-plans-local-stripe-webhook",
        "invitation marked": "gift-plans-local-ses-feedback",
        "email sent": "gift-plans-local-mailer",
        "events published": "gift-plans-local-events-publisher",
    }
    server.drain()
    seen: dict[str, set[str]] = {}
    for line in server.log_path.read_text(errors="replace").splitlines():
        start = line.find("{")
        if start < 0:
            continue
        try:
            record = json.loads(line[start:])
        except ValueError:
            continue
        if record.get("message") in expected:
            seen.setdefault(record["message"], set()).add(record.get("function_name"))

    assert seen == {message: {name} for message, name in expected.items()}
