"""Issue 14 item 7, SPEC 8.4: a wrong link secret says nothing; a valid link names the sender."""

from __future__ import annotations

from typing import Any

import pytest
from giftplans import tokens
from giftplans.outbox import rendering
from giftplans.outbox.notices import notices_for

from tests.support import gifts as g
from tests.support.apigw import claims
from tests.support.factories import paid_purchase

pytestmark = pytest.mark.usefixtures("aws", "clock")

WRONG_MAC = "A" * tokens.MAC_CHARS


def forged(link: str, seat_id: str | None = None) -> str:
    """The clear parts of a real link (optionally for another seat) with a MAC we never issued."""
    token = tokens.parse_invite_token(link)
    assert token is not None
    return f"{token.purchase_id}.{seat_id or token.seat_id}.{token.plan}.{token.term_end_ts}.{WRONG_MAC}"


def test_given_seats_in_every_state_when_previewed_with_a_wrong_secret_then_one_uniform_404(
    clock: Any,
) -> None:
    pid = paid_purchase(quantity=4)
    g.invite(pid, "ann@example.com", "bob@example.com", "cat@example.com")
    ann_link = g.link(pid, "0001")
    cat_link = g.link(pid, "0003")
    assert g.accept(ann_link, claims("sub-ann", "ann@example.com"))[0] == 200  # 0001 accepted
    assert (
        g.seat_action(pid, "0003", "revoke")[0] == 200
    )  # 0003 available again, 0002 invited, 0004 never used

    answers = [g.preview(forged(ann_link, f"{n:04d}")) for n in range(1, 7)]  # 0005, 0006: beyond quantity

    assert {status for status, _ in answers} == {404}
    assert {body["error"]["code"] for _, body in answers} == {"invitation_not_found"}
    assert len({str(body) for _, body in answers}) == 1  # the same words for every seat and state
    status, body = g.decline(forged(ann_link, "0002"))
    assert (status, body["error"]["code"]) == (404, "invitation_not_found")

    # The links we did issue still hear the truth about their seat.
    status, body = g.preview(ann_link)
    assert (status, body["state"]) == (200, "accepted")
    status, body = g.preview(cat_link)
    assert (status, body["error"]["code"]) == (410, "invitation_revoked")

    clock.advance(days=400)  # the term ended: a forged secret is still only "not found"
    assert g.preview(forged(ann_link, "0002"))[0] == 404
    assert g.preview(ann_link)[1]["error"]["code"] == "invitation_expired"


def test_given_from_name_when_invited_then_preview_seat_and_email_show_it_and_the_buyer_address() -> None:
    pid = paid_purchase(quantity=2)
    status, body = g.invite(pid, rows=[{"email": "ann@example.com", "from_name": "  Aunt May  "}])
    assert status == 201, body
    assert body["seats"][0]["from_name"] == "Aunt May"

    status, preview = g.preview(g.link(pid, "0001"))

    assert status == 200
    assert (preview["from_name"], preview["from_email"], preview["sender"]) == (
        "Aunt May",
        g.BUYER_EMAIL,
        "Aunt May",
    )
    seat = g.seat(pid, "0001")
    assert seat.from_name == "Aunt May"
    email = _invitation_email(seat)
    assert "Aunt May" in email.subject and "Aunt May" in email.text


def _invitation_email(seat: Any) -> Any:
    from tests.support.streams import change, record

    old = change(seat, state="available", last_action="create")
    old.version = int(seat.version) - 1
    emails = [n.email for n in notices_for(record(old, seat)) if n.email and n.email.template == "invitation"]
    assert emails, "no invitation notice"
    return rendering.render(emails[0].template, emails[0].params)


def test_given_bad_from_names_when_invited_then_422_per_row_and_nothing_written() -> None:
    pid = paid_purchase(quantity=5)
    rows = [
        {"email": "a@example.com", "from_name": ""},
        {"email": "b@example.com", "from_name": "x" * 81},
        {"email": "c@example.com", "from_name": "May\u202egnp.exe"},
        {"email": "d@example.com", "from_name": "May\x07"},
        {"email": "e@example.com", "from_name": "x" * 80},
    ]

    status, body = g.invite(pid, rows=rows)

    assert status == 422, body
    problems = body["error"]["rows"]
    assert [(p["index"], p["code"]) for p in problems] == [(i, "invalid_from_name") for i in range(4)]
    assert g.seat(pid, "0001").state == "available"


def test_given_stripe_buyer_name_when_no_from_name_then_preview_never_calls_it_masked() -> None:
    pid = paid_purchase(quantity=1)
    g.invite(pid, "ann@example.com")

    status, preview = g.preview(g.link(pid, "0001"))

    assert status == 200
    assert preview["from_name"] is None
    assert preview["sender"] == g.BUYER_EMAIL  # the valid link's holder sees the address, unmasked
    assert "***" not in str(preview)
