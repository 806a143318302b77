"""Black-box walkthrough of SPEC 8.1 against `python -m local.server`: scheduled invitations.

A buyer invites one person now and two for later; nothing goes to the later ones until the
clock passes their `send_at` and `POST /_local/deliveries` runs; one of them is revoked before
it and is never told anything.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.local.conftest import Server
from tests.local.test_walkthroughs import BOUGHT_AT, Person, at, detail, link_token, only

pytestmark = pytest.mark.local


@pytest.fixture(autouse=True)
def bought_at(server: Server) -> Iterator[None]:
    server.set_clock(BOUGHT_AT)
    yield
    server.reset_clock()


def test_given_rows_for_now_and_later_when_the_clock_passes_send_at_then_each_is_mailed_at_its_time(
    server: Server,
) -> None:
    buyer = Person(server, "buyer")
    now_, later, revoked = Person(server, "now"), Person(server, "later"), Person(server, "revoked")
    purchase_id = server.buy(buyer.token, quantity=3)
    rows = [
        {"email": now_.email},
        {"email": later.email, "send_at": at(BOUGHT_AT, hours=2)},
        {"email": revoked.email, "send_at": at(BOUGHT_AT, hours=2)},
    ]
    answer = server.post(f"/purchases/{purchase_id}/invitations", {"invitations": rows}, buyer.token)
    seats = server.ok(answer, 201)["seats"]
    assert [s["state"] for s in seats] == ["invited"] * 3
    assert [s["send_at"] for s in seats] == [None, at(BOUGHT_AT, hours=2), at(BOUGHT_AT, hours=2)]
    assert len(server.mail(now_.email)) == 1
    assert server.mail(later.email) == [] and server.mail(revoked.email) == []

    server.ok(server.post(f"/purchases/{purchase_id}/seats/{seats[2]['seat_id']}/revoke", None, buyer.token))
    ran = server.ok(server.post("/_local/deliveries"))
    assert ran["delivered"] == 0
    assert server.mail(later.email) == []

    server.set_clock(at(BOUGHT_AT, hours=2, minutes=1))
    ran = server.ok(server.post("/_local/deliveries"))
    assert ran["delivered"] == 1
    token = link_token(only(server.mail(later.email), "gave you"))
    assert server.mail(revoked.email) == []  # revoked before send_at: told nothing, ever
    shown = {s["seat_id"]: s for s in detail(server, buyer, purchase_id)["seats"]}
    assert shown[seats[1]["seat_id"]]["sent_at"] is not None
    server.ok(server.post("/invitations/accept", {"token": token}, later.token))

    server.set_clock(at(BOUGHT_AT, days=7, hours=1))  # a week on: the one who did not accept is reminded
    server.ok(server.post("/_local/deliveries"))
    assert [m["subject"].startswith("Reminder") for m in server.mail(now_.email)] == [False, True]
    assert len(server.mail(later.email)) == 1  # accepted: no reminder
