"""Issue 13 item 1: the local server's DynamoDB is linearisable per request, under real races over HTTP.

One server for the module. A 1000-seat purchase exists (its buyer keeps inviting batches of
25 from another thread while the race runs) and the stream poller mails and publishes in the
background, as in `make dev`. Each round, 8 threads start together on one small purchase:
accept against revoke of one invitation, accept against resend of another, resend against
revoke of a third, a claim, and a batch invite. Then every 2xx answer must be in the table
(`GET /purchases/{id}`, entitlements), in the mail (`/_local/mail`) and in the events
(`/_local/events`); every refusal must have left no trace; no answer is a 5xx; and the
seat counts add up.

Seen before the fix: accept 200 and revoke 409, yet the seat stayed `invited` and the
"accepted" mail never came; a 25-address invite answered a bare 500.

`LOCAL_RACE_ROUNDS=20` runs 20 rounds (default 2).
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.local.conftest import Server

pytestmark = pytest.mark.local

ROUNDS = int(os.environ.get("LOCAL_RACE_ROUNDS", "2"))
ACCEPT_LINK = re.compile(r"/accept\?token=([A-Za-z0-9._~-]+)")
INVITED, ACCEPTED, WITHDRAWN = "gave you", "accepted your", "was withdrawn"
THREADS = 8


class Person:
    def __init__(self, server: Server, role: str) -> None:
        self.sub = f"{role}-{uuid.uuid4().hex[:10]}"
        self.email = f"{self.sub}@example.com"
        self.token, _ = server.token(sub=self.sub, email=self.email, verified=True)


@dataclass
class Answer:
    name: str
    status: int
    body: Any


def mails(server: Server, to: str, subject: str) -> list[dict[str, Any]]:
    return [m for m in server.ok(server.get(f"/_local/mail?to={to}"))["messages"] if subject in m["subject"]]


def events(server: Server, detail_type: str, **detail: str) -> list[dict[str, Any]]:
    found = server.ok(server.get(f"/_local/events?detail_type={detail_type}"))["events"]
    return [e for e in found if all(e["detail"].get(k) == v for k, v in detail.items())]


def entitlement(server: Server, person: Person) -> dict[str, Any]:
    return server.ok(server.get("/me/entitlement", person.token))  # type: ignore[no-any-return]


def purchase(server: Server, buyer: Person, purchase_id: str) -> dict[str, Any]:
    return server.ok(server.get(f"/purchases/{purchase_id}", buyer.token))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def big(server: Server) -> Iterator[tuple[Person, str]]:
    """A fulfilled 1000-seat purchase, and its buyer."""
    buyer = Person(server, "big")
    yield buyer, server.buy(buyer.token, quantity=1000)


def invite(server: Server, buyer: Person, purchase_id: str, *emails: str) -> requests.Response:
    rows = [{"email": e} for e in emails]
    return server.post(f"/purchases/{purchase_id}/invitations", {"invitations": rows}, buyer.token)


def token_of(server: Server, to: str) -> str:
    (message,) = mails(server, to, INVITED)
    found = ACCEPT_LINK.search(message["text"])
    assert found, message["text"]
    return found.group(1)


def race(calls: list[tuple[str, Callable[[], requests.Response]]]) -> dict[str, Answer]:
    """Start every call at once (one thread each); their answers by name."""
    start = threading.Barrier(len(calls))
    answers: dict[str, Answer] = {}
    lock = threading.Lock()

    def run(name: str, call: Callable[[], requests.Response]) -> None:
        start.wait(timeout=30)
        response = call()
        body = response.json() if response.content else None
        with lock:
            answers[name] = Answer(name, response.status_code, body)

    threads = [threading.Thread(target=run, args=c, name=c[0]) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert len(answers) == len(calls), f"a racer did not answer: {sorted(answers)}"
    return answers


def won(answer: Answer) -> bool:
    return 200 <= answer.status < 300


def test_given_1000_seats_and_the_mailer_running_when_8_threads_race_on_one_purchase_then_every_2xx_is_kept(
    server: Server, big: tuple[Person, str]
) -> None:
    big_buyer, big_purchase = big
    for round_no in range(ROUNDS):
        run_round(server, big_buyer, big_purchase, round_no)


def run_round(server: Server, big_buyer: Person, big_purchase: str, round_no: int) -> None:
    buyer = Person(server, "buyer")
    purchase_id = server.buy(buyer.token, quantity=10)
    r1, r2, r3 = (Person(server, f"r{n}") for n in (1, 2, 3))
    news = [f"new{n}-{uuid.uuid4().hex[:8]}@example.com" for n in range(3)]
    seats = {}
    for person in (r1, r2, r3):
        (seat,) = server.ok(invite(server, buyer, purchase_id, person.email), 201)["seats"]
        seats[person.sub] = seat["seat_id"]
    server.drain()
    t1, t2 = token_of(server, r1.email), token_of(server, r2.email)
    # Resends need 10 minutes since the last mail: move the clock past that (it keeps running).
    now = datetime.fromisoformat(server.ok(server.get("/_local/clock"))["now"].replace("Z", "+00:00"))
    server.set_clock((now + timedelta(minutes=11)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    s1, s2, s3 = seats[r1.sub], seats[r2.sub], seats[r3.sub]
    seat_path = f"/purchases/{purchase_id}/seats"
    big_batch = [f"big{round_no}-{n}-{uuid.uuid4().hex[:6]}@example.com" for n in range(25)]

    answers = race(
        [
            ("accept1", lambda: server.post("/invitations/accept", {"token": t1}, r1.token)),
            ("revoke1", lambda: server.post(f"{seat_path}/{s1}/revoke", None, buyer.token)),
            ("accept2", lambda: server.post("/invitations/accept", {"token": t2}, r2.token)),
            ("resend2", lambda: server.post(f"{seat_path}/{s2}/resend", None, buyer.token)),
            ("resend3", lambda: server.post(f"{seat_path}/{s3}/resend", None, buyer.token)),
            ("revoke3", lambda: server.post(f"{seat_path}/{s3}/revoke", None, buyer.token)),
            ("claim", lambda: server.post(f"/purchases/{purchase_id}/claim", None, buyer.token)),
            ("invite", lambda: invite(server, buyer, purchase_id, *news)),
            # Not one of the 8: load on the 1000-seat purchase's partition at the same time.
            ("big", lambda: invite(server, big_buyer, big_purchase, *big_batch)),
        ]
    )
    context = f"round {round_no}: " + ", ".join(f"{a.name} {a.status}" for a in answers.values())

    allowed = {
        "accept1": {200, 404, 409, 410},
        "revoke1": {200, 404, 409},
        "accept2": {200, 404, 409, 410},
        "resend2": {202, 404, 409},
        "resend3": {202, 404, 409, 429},  # 429: the revoke went first and the invite took the seat again
        "revoke3": {200, 404, 409},
        "claim": {200},  # nothing else claims: the claim always has a seat
        "invite": {201},  # 10 seats: 3 invited + 3 new + 1 claim always fit
        "big": {201},
    }
    for name, answer in answers.items():
        assert answer.status in allowed[name], context
        if not won(answer):
            assert_error_shape_of(answer, context)
    # Conflicting pairs: exactly one of each wins (DynamoDB serialises them; one condition fails).
    assert won(answers["accept1"]) != won(answers["revoke1"]), context
    assert won(answers["accept2"]) != won(answers["resend2"]), context
    assert won(answers["revoke3"]), context  # a resend keeps the seat invited: the revoke always works

    server.drain()
    detail = purchase(server, buyer, purchase_id)
    by_seat = {s["seat_id"]: s for s in detail["seats"]}
    by_email = {s["recipient_email"]: s for s in detail["seats"] if s["recipient_email"]}

    # accept / revoke of seat 1
    if won(answers["accept1"]):
        assert (by_seat[s1]["state"], by_seat[s1]["recipient_email"]) == ("accepted", r1.email), context
        assert_accepted(server, buyer, purchase_id, s1, r1, context)
        assert mails(server, r1.email, WITHDRAWN) == [], context
    else:
        assert by_email.get(r1.email) is None, context  # revoked: the seat is free or taken by another
        assert_not_accepted(server, buyer, r1, context)
        assert len(mails(server, r1.email, WITHDRAWN)) == 1, context
        assert len(events(server, "seat.revoked", purchase_id=purchase_id, seat_id=s1)) == 1, context

    # accept / resend of seat 2
    invitations_to_r2 = len(mails(server, r2.email, INVITED))
    if won(answers["accept2"]):
        assert (by_seat[s2]["state"], by_seat[s2]["recipient_email"]) == ("accepted", r2.email), context
        assert_accepted(server, buyer, purchase_id, s2, r2, context)
        assert invitations_to_r2 == 1, context
    else:
        assert (by_seat[s2]["state"], by_seat[s2]["recipient_email"]) == ("invited", r2.email), context
        assert_not_accepted(server, buyer, r2, context)
        assert invitations_to_r2 == 2, context  # the first, and the resend's fresh link

    # resend / revoke of seat 3: the revoke always lands; the resend's mail only if it went first
    assert by_email.get(r3.email) is None, context
    if answers["resend3"].status == 429:  # it met the seat invited again, to a new address, just now
        assert answers["resend3"].body["error"]["code"] == "resend_too_soon", context
        assert by_seat[s3]["recipient_email"] in news, context
    assert len(mails(server, r3.email, WITHDRAWN)) == 1, context
    assert len(mails(server, r3.email, INVITED)) == (2 if won(answers["resend3"]) else 1), context
    assert len(events(server, "seat.revoked", purchase_id=purchase_id, seat_id=s3)) == 1, context

    # claim: one seat, the buyer's entitlement, one event
    claimed = [s for s in detail["seats"] if s["state"] == "claimed"]
    assert [s["seat_id"] for s in claimed] == [answers["claim"].body["seat"]["seat_id"]], context
    mine = entitlement(server, buyer)
    assert (mine["active"], mine["source"]) == (True, "claim"), context
    assert len(events(server, "seat.claimed", purchase_id=purchase_id)) == 1, context

    # invite: every seat it answered is invited to its address, mailed once, published once
    invited = answers["invite"].body["seats"]
    assert sorted(s["recipient_email"] for s in invited) == sorted(news), context
    revoked = {s3} | ({s1} if won(answers["revoke1"]) else set())  # seats invited once before the race
    for seat in invited:
        assert by_seat[seat["seat_id"]]["state"] == "invited", context
        assert len(mails(server, seat["recipient_email"], INVITED)) == 1, context
        published = events(server, "seat.invited", purchase_id=purchase_id, seat_id=seat["seat_id"])
        assert len(published) == 1 + int(seat["seat_id"] in revoked), context
    big_seats = answers["big"].body["seats"]
    assert len(big_seats) == 25, context
    for address in big_batch[:3] + big_batch[-3:]:
        assert len(mails(server, address, INVITED)) == 1, context

    # the counts add up, and agree with the seats
    counts = detail["purchase"]["seat_counts"]
    tally = {state: 0 for state in counts}
    for seat in detail["seats"]:
        tally[seat["state"]] += 1
    assert counts == tally, context
    assert sum(counts.values()) == 10 == len(detail["seats"]), context
    accepted = int(won(answers["accept1"])) + int(won(answers["accept2"]))
    assert (counts["accepted"], counts["claimed"]) == (accepted, 1), context
    assert counts["invited"] == 3 + int(not won(answers["accept2"])), context
    assert_big_counts(server, big_buyer, round_no)


def assert_error_shape_of(answer: Answer, context: str) -> None:
    assert isinstance(answer.body, dict) and set(answer.body) == {"error"}, context
    error = answer.body["error"]
    assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str), context


def assert_accepted(
    server: Server, buyer: Person, purchase_id: str, seat_id: str, recipient: Person, context: str
) -> None:
    theirs = entitlement(server, recipient)
    assert (theirs["active"], theirs["source"]) == (True, "gift"), context
    assert len([m for m in mails(server, buyer.email, ACCEPTED) if recipient.email in m["subject"]]) == 1, (
        context
    )
    assert len(events(server, "seat.accepted", purchase_id=purchase_id, seat_id=seat_id)) == 1, context
    assert len(events(server, "entitlement.granted", recipient_sub=recipient.sub)) == 1, context


def assert_not_accepted(server: Server, buyer: Person, recipient: Person, context: str) -> None:
    assert entitlement(server, recipient)["active"] is False, context
    assert [m for m in mails(server, buyer.email, ACCEPTED) if recipient.email in m["subject"]] == [], context
    assert events(server, "entitlement.granted", recipient_sub=recipient.sub) == [], context


def assert_big_counts(server: Server, big_buyer: Person, round_no: int) -> None:
    (listed,) = [p for p in server.ok(server.get("/purchases", big_buyer.token))["purchases"]]
    counts = listed["seat_counts"]
    assert sum(counts.values()) == 1000
    assert counts["invited"] == 25 * (round_no + 1), counts
