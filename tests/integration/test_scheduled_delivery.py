"""SPEC 8.1 and issue 16: scheduled invitations, their delivery, and the recipient's one reminder.

The outbox is the stream: each test turns the committed changes of a step into the stream
records they make (old and new image) and asks `notices_for` what they mail and announce, as
the mailer and the events publisher do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from giftplans import clock, deliveries
from giftplans.outbox import notices
from giftplans.settings import get as settings
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m

from tests.support import factories, streams
from tests.support import gifts as g
from tests.support.apigw import FakeContext, call, load_handler
from tests.support.ddb_calls import counting

pytestmark = pytest.mark.usefixtures("aws", "clock")

Step = Callable[[], Any]


def items() -> dict[tuple[str, str], m.Item]:
    """Every item on the table (a test-only Scan)."""
    return {(item.PK, item.SK): item for item in m.Item.scan(consistent_read=True)}


def records_of(step: Step) -> tuple[Any, list[dict[str, Any]]]:
    """What `step()` answers, and the stream records of every item it inserted or changed."""
    before = items()
    answer = step()
    out = []
    for key, item in items().items():
        old = before.get(key)
        if old is None or item.serialize() != old.serialize():
            out.append(streams.record(old, item))
    return answer, out


def told(step: Step) -> tuple[Any, list[tuple[str, str]], list[str]]:
    """`step()`'s answer, the (template, to) of every mail and the kind of every event it calls for."""
    answer, records = records_of(step)
    found = [n for r in records for n in notices.notices_for(r)]
    mails = sorted((n.email.template, n.email.to) for n in found if n.email is not None)
    events = sorted(n.kind for n in found if n.event is not None)
    return answer, mails, events


def at(**delta: float) -> str:
    return clock.iso(clock.now() + timedelta(**delta))


def deliver_now() -> dict[str, Any]:
    result: dict[str, Any] = load_handler("deliveries").handler({}, FakeContext())
    return result


def seat_json(pid: str, seat_id: str) -> dict[str, Any]:
    status, body = call_seat(pid, seat_id)
    assert status == 200, body
    return dict(body["seat"])


def call_seat(pid: str, seat_id: str) -> tuple[int, Any]:
    from tests.support.apigw import http_event

    return call(
        "purchases_api",
        http_event(
            "GET",
            f"/purchases/{pid}/seats/{seat_id}",
            route="/purchases/{purchase_id}/seats/{seat_id}",
            claims=g.who(),
            path_params={"purchase_id": pid, "seat_id": seat_id},
        ),
    )


# ---- scheduling and delivery -------------------------------------------------------------------------------


def test_given_a_row_with_send_at_when_invited_then_seat_reserved_at_once_and_nothing_mailed() -> None:
    pid = factories.paid_purchase(quantity=2)
    (status, body), mails, events = told(
        lambda: g.invite(pid, rows=[{"email": "ann@example.com", "send_at": at(days=3)}])
    )
    assert status == 201, body
    assert body["seats"][0]["state"] == "invited" and body["seats"][0]["send_at"] == at(days=3)
    assert mails == []  # nothing in the outbox before send_at
    assert "seat.scheduled" in events and "seat.invited" not in events
    seat = g.seat(pid, "0001")
    assert (
        (seat.GSI2PK or "").startswith("SEND#") and at(days=3) == seat.GSI2SK and seat.due_kind == "deliver"
    )
    assert g.purchase(pid).seat_counts.invited == 1
    shown = seat_json(pid, "0001")
    assert (shown["send_at"], shown["sent_at"], shown["last_sent_at"]) == (at(days=3), None, None)
    # the address is reserved: rule 11 refuses it again at once
    status, body = g.invite(pid, "ann@example.com")
    assert (status, body["error"]["code"]) == (409, "already_invited")


def test_given_a_scheduled_seat_when_runs_come_before_and_after_send_at_then_mailed_once_in_the_run_after(
    clock: Any,
) -> None:
    pid = factories.paid_purchase(quantity=2)
    g.invite(pid, rows=[{"email": "ann@example.com", "send_at": at(hours=2)}])
    result, mails, _ = told(deliver_now)
    assert mails == [] and result["delivered"] == 0
    clock.advance(hours=1, minutes=59)
    _, mails, _ = told(deliver_now)
    assert mails == []  # a minute before send_at: still nothing
    clock.advance(minutes=4)  # the next 4-minute run after send_at
    result, mails, events = told(deliver_now)
    assert result["delivered"] == 1
    assert mails == [("invitation", "ann@example.com")]
    assert "seat.delivered" in events
    seat = g.seat(pid, "0001")
    assert seat.due_kind == "nudge" and at(days=7) == seat.GSI2SK  # the reminder's key, a week on
    assert g.audit_kinds(pid).count("seat.delivered") == 1
    _, mails, _ = told(deliver_now)  # a run again: nothing twice
    assert mails == []


def test_given_a_delivered_invitation_when_ses_accepts_it_then_sent_at_is_shown() -> None:
    from giftplans.outbox import feedback

    pid = factories.paid_purchase(quantity=1)
    g.invite(pid, rows=[{"email": "ann@example.com", "send_at": at(minutes=30)}])
    seat = g.seat(pid, "0001")
    assert seat_json(pid, "0001")["sent_at"] is None
    clock_now = clock.now()
    clock.freeze(clock_now + timedelta(minutes=31))
    deliver_now()
    link = str(seat.token_hash)[: feedback.LINK_TAG_CHARS]  # the SES `link` tag (issue 14: no nonce)
    assert feedback.mark_sent(pid, "0001", link)  # what the mailer does once SES took it
    assert seat_json(pid, "0001")["sent_at"] == at()


def test_given_a_scheduled_seat_when_revoked_before_send_at_then_nobody_is_told_and_the_key_is_gone(
    clock: Any,
) -> None:
    pid = factories.paid_purchase(quantity=1)
    g.invite(pid, rows=[{"email": "ann@example.com", "send_at": at(days=1)}])
    (status, _), mails, events = told(lambda: g.seat_action(pid, "0001", "revoke"))
    assert status == 200
    assert mails == []  # the recipient never heard of it: no "revoked" mail either
    assert "seat.revoked" in events
    seat = g.seat(pid, "0001")
    assert (seat.GSI2PK, seat.GSI2SK, seat.due_kind, seat.send_at) == (None, None, None, None)
    clock.advance(days=2)
    result, mails, _ = told(deliver_now)
    assert mails == [] and result["due"] == 0  # no mail ever


def test_given_a_scheduled_seat_when_resent_then_mailed_now_and_counted_as_a_send(clock: Any) -> None:
    pid = factories.paid_purchase(quantity=1)
    g.invite(pid, rows=[{"email": "ann@example.com", "send_at": at(days=10)}])
    (status, body), mails, _ = told(lambda: g.seat_action(pid, "0001", "resend"))
    assert status == 202, body
    assert mails == [("invitation", "ann@example.com")]
    seat = g.seat(pid, "0001")
    assert seat.due_kind == "nudge" and at(days=7) == seat.GSI2SK
    assert int(seat.resend_count) == 1
    clock.advance(days=6, hours=23)  # past nothing; then past the old send_at: no second invitation
    clock.advance(days=4)
    _, mails, _ = told(deliver_now)
    assert ("invitation", "ann@example.com") not in mails


@pytest.mark.parametrize(
    ("send_at", "code"),
    [
        (lambda: at(minutes=-5), "send_at_in_past"),
        (lambda: at(days=366), "send_at_too_far"),
    ],
)
def test_given_a_send_at_out_of_range_when_invited_then_422_for_that_row_and_nothing_written(
    send_at: Callable[[], str], code: str
) -> None:
    pid = factories.paid_purchase(quantity=2)
    rows = [{"email": "ok@example.com"}, {"email": "ann@example.com", "send_at": send_at()}]
    status, body = g.invite(pid, rows=rows)
    assert (status, body["error"]["code"]) == (422, "invalid_rows")
    assert [(r["index"], r["code"]) for r in body["error"]["rows"]] == [(1, code)]
    assert g.purchase(pid).seat_counts.invited == 0


def test_given_a_send_at_after_term_end_when_invited_then_422_for_that_row_and_nothing_written(
    clock: Any,
) -> None:
    pid = factories.paid_purchase(quantity=2)
    clock.advance(days=200)  # the term ends in ~165 days: 200 days ahead is inside 365 but after it
    rows = [{"email": "ok@example.com"}, {"email": "ann@example.com", "send_at": at(days=200)}]
    status, body = g.invite(pid, rows=rows)
    assert (status, body["error"]["code"]) == (422, "invalid_rows")
    assert [(r["index"], r["code"]) for r in body["error"]["rows"]] == [(1, "send_at_after_term_end")]
    assert g.purchase(pid).seat_counts.invited == 0


def test_given_a_send_at_within_the_skew_when_invited_then_it_is_mailed_at_once() -> None:
    pid = factories.paid_purchase(quantity=1)
    (status, body), mails, _ = told(
        lambda: g.invite(pid, rows=[{"email": "ann@example.com", "send_at": at(seconds=-30)}])
    )
    assert status == 201, body
    assert mails == [("invitation", "ann@example.com")]


@pytest.mark.parametrize("send_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_given_a_send_at_with_no_utc_spelling_when_invited_then_422_for_that_row_not_500(
    send_at: str,
) -> None:
    pid = factories.paid_purchase(quantity=1)
    status, body = g.invite(pid, rows=[{"email": "ann@example.com", "send_at": send_at}])
    assert (status, body["error"]["code"]) == (422, "invalid_rows")
    assert body["error"]["rows"][0]["code"] == "invalid_send_at"


def test_given_a_naive_send_at_when_invited_then_422_not_500() -> None:
    pid = factories.paid_purchase(quantity=1)
    status, body = g.invite(pid, rows=[{"email": "ann@example.com", "send_at": "2026-03-05T10:00:00"}])
    assert status == 422 and "error" in body


def test_given_a_list_with_mixed_send_at_when_invited_then_now_rows_mailed_and_later_rows_each_at_their_time(
    clock: Any,
) -> None:
    pid = factories.paid_purchase(quantity=30)
    rows: list[dict[str, Any]] = [{"email": f"p{i}@example.com"} for i in range(30)]
    for i in range(0, 30, 3):
        rows[i]["send_at"] = at(hours=1)
    for i in range(1, 30, 3):
        rows[i]["send_at"] = at(days=2)
    (status, body), mails, _ = told(lambda: g.invite(pid, rows=rows))  # 30 rows: a batch of 2 chunks
    assert status == 201, body
    assert sorted(to for _, to in mails) == sorted(f"p{i}@example.com" for i in range(2, 30, 3))
    assert [s["send_at"] for s in body["seats"]] == [r.get("send_at") for r in rows]
    clock.advance(hours=1, minutes=3)
    _, mails, _ = told(deliver_now)
    assert sorted(to for _, to in mails) == sorted(f"p{i}@example.com" for i in range(0, 30, 3))
    clock.advance(days=2)
    _, mails, _ = told(deliver_now)
    assert sorted(to for _, to in mails) == sorted(f"p{i}@example.com" for i in range(1, 30, 3))


# ---- the recipient's reminder ---------------------------------------------------------------------------


def test_given_an_invitation_not_accepted_when_7_days_pass_then_one_reminder_and_never_again(
    clock: Any,
) -> None:
    pid = factories.paid_purchase(quantity=1)
    g.invite(pid, "ann@example.com")
    clock.advance(days=6, hours=23)
    _, mails, _ = told(deliver_now)
    assert mails == []
    clock.advance(hours=1, minutes=1)
    result, mails, events = told(deliver_now)
    assert mails == [("invitation_reminder", "ann@example.com")] and result["nudged"] == 1
    assert "seat.nudged" in events
    assert g.seat(pid, "0001").GSI2PK is None
    clock.advance(days=1)
    g.seat_action(pid, "0001", "resend")  # a resend puts a reminder key back ...
    clock.advance(days=8)
    _, mails, _ = told(deliver_now)
    assert mails == []  # ... but the recipient was reminded once already
    assert g.seat(pid, "0001").GSI2PK is None  # and the stale key is dropped


def test_given_a_scheduled_invitation_when_7_days_after_creation_then_no_reminder_before_it_went(
    clock: Any,
) -> None:
    pid = factories.paid_purchase(quantity=1)
    g.invite(pid, rows=[{"email": "ann@example.com", "send_at": at(days=10)}])
    clock.advance(days=8)
    _, mails, _ = told(deliver_now)
    assert mails == []
    clock.advance(days=2, minutes=1)
    _, mails, _ = told(deliver_now)
    assert mails == [("invitation", "ann@example.com")]
    clock.advance(days=7, minutes=1)
    _, mails, _ = told(deliver_now)
    assert mails == [("invitation_reminder", "ann@example.com")]


def test_given_an_accepted_invitation_when_7_days_pass_then_no_reminder_and_no_key(clock: Any) -> None:
    pid = factories.paid_purchase(quantity=1)
    g.invite(pid, "ann@example.com")
    status, body = g.accept(g.link(pid, "0001"), g.who("sub-ann", "ann@example.com"))
    assert status == 200, body
    assert g.seat(pid, "0001").GSI2PK is None
    clock.advance(days=8)
    _, mails, _ = told(deliver_now)
    assert mails == []


def test_given_an_invitation_whose_key_outlived_it_when_due_then_no_mail_and_the_key_is_dropped(
    clock: Any,
) -> None:
    pid = factories.paid_purchase(quantity=1)
    g.invite(pid, rows=[{"email": "ann@example.com", "send_at": at(days=1)}])
    # support's cancel ends the invitation without touching the key (a write of its own)
    m.Seat(k.purchase_pk(pid), k.seat_sk("0001")).update(actions=[m.Seat.state.set("cancelled")])
    clock.advance(days=1, minutes=1)
    result, mails, _ = told(deliver_now)
    assert mails == [] and result["dropped"] == 1
    assert g.seat(pid, "0001").GSI2PK is None


# ---- cost --------------------------------------------------------------------------------------------------


def test_given_due_seats_when_deliveries_run_then_round_trips_are_shards_plus_due_seats_and_never_a_scan(
    clock: Any,
) -> None:
    shards = settings().due_shards
    for _ in range(3):
        pid = factories.paid_purchase(quantity=4)
        g.invite(pid, rows=[{"email": f"p{i}-{pid}@example.com", "send_at": at(hours=1)} for i in range(4)])
    clock.advance(hours=1, minutes=1)
    with counting() as calls:
        result = deliveries.run(clock.now)
    assert result.delivered == 12
    assert "Scan" not in calls.names
    assert calls.by_operation["Query"] == shards  # one page per shard
    assert len(calls) == shards + 12, calls.by_operation  # one write per due seat
    with counting() as calls:
        deliveries.run(clock.now)
    assert len(calls) == shards  # nothing due: the shards' Queries alone


# ---- the buyer's reminders name the invitations never accepted ---------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, mail: Any) -> str:
        self.sent.append(mail)
        return f"msg-{len(self.sent)}"


def buyer_reminded(pid: str, clock: Any, days: int = 30) -> list[Any]:
    """Sweep on the purchase's `days`-before-term-end night; the buyer reminders SES was handed."""
    from giftplans import sweep
    from giftplans.outbox import sending

    term_end = clock_of(g.purchase(pid).term_end)
    clock.set(term_end - timedelta(days=days) + timedelta(hours=1))
    since = (term_end - timedelta(days=31)).date()  # the nights before it too: the latest milestone acts
    _, records = records_of(lambda: sweep.run(clock.now, since=since))
    via = Recorder()
    for record in records:
        for notice in notices.notices_for(record):
            if notice.kind == "buyer_reminder":
                sending.deliver(notice, via)
    return via.sent


def clock_of(iso: str) -> Any:
    return clock.parse_iso(iso)


def test_given_invitations_never_accepted_when_the_buyer_is_reminded_then_the_email_lists_their_addresses(
    clock: Any,
) -> None:
    pid = factories.paid_purchase(quantity=3)
    g.invite(pid, "ann@example.com", "bob@example.com", "cat@example.com")
    status, _ = g.accept(g.link(pid, "0002"), g.who("sub-bob", "bob@example.com"))
    assert status == 200
    sent = buyer_reminded(pid, clock)  # no seat is unassigned: the invitations alone are reason enough
    assert len(sent) == 1 and sent[0].to == "buyer@example.com"
    assert "ann@example.com" in sent[0].text and "cat@example.com" in sent[0].text
    assert "bob@example.com" not in sent[0].text  # accepted
    assert "2 invitations" in sent[0].subject


def test_given_many_invitations_never_accepted_when_the_buyer_is_reminded_then_the_email_counts_them(
    clock: Any,
) -> None:
    pid = factories.paid_purchase(quantity=25)
    g.invite(pid, *[f"p{i}@example.com" for i in range(21)])
    sent = buyer_reminded(pid, clock, days=7)
    assert len(sent) == 1
    assert "21 invitations were never accepted" in sent[0].text
    assert "p0@example.com" not in sent[0].text
    assert "4 of the 25" in sent[0].text  # the unassigned seats are still named first


# ---- no reminder where it cannot or must not go ------------------------------------------------------------


def test_given_an_invited_seat_without_an_address_when_its_reminder_is_due_then_no_mail_and_key_dropped(
    clock: Any,
) -> None:
    pid = factories.paid_purchase(quantity=1)
    g.invite(pid, "ann@example.com")
    # a shared-link seat looks like this: invited, no recipient address
    m.Seat(k.purchase_pk(pid), k.seat_sk("0001")).update(actions=[m.Seat.recipient_email.remove()])
    clock.advance(days=7, minutes=1)
    result, mails, _ = told(deliver_now)
    assert mails == [] and result["nudged"] == 0 and result["dropped"] == 1
    assert g.seat(pid, "0001").GSI2PK is None


def test_given_a_bounced_invitation_when_its_reminder_is_due_then_nothing_is_sent(clock: Any) -> None:
    pid = factories.paid_purchase(quantity=1)
    g.invite(pid, "ann@example.com")
    m.Seat(k.purchase_pk(pid), k.seat_sk("0001")).update(actions=[m.Seat.delivery.set("bounced")])
    clock.advance(days=7, minutes=1)
    _, mails, _ = told(deliver_now)
    assert mails == []


def test_given_an_invitation_when_declined_then_its_reminder_key_goes_with_it() -> None:
    pid = factories.paid_purchase(quantity=1)
    g.invite(pid, "ann@example.com")
    assert g.seat(pid, "0001").due_kind == "nudge"
    status, _ = g.decline(g.link(pid, "0001"))
    assert status == 200
    seat = g.seat(pid, "0001")
    assert (seat.GSI2PK, seat.GSI2SK, seat.due_kind) == (None, None, None)


def test_given_two_runs_at_once_when_a_seat_is_due_then_it_is_delivered_once(clock: Any) -> None:
    pid = factories.paid_purchase(quantity=1)
    g.invite(pid, rows=[{"email": "ann@example.com", "send_at": at(minutes=10)}])
    clock.advance(minutes=11)
    (due,) = [s for shard in range(settings().due_shards) for s in get_store().sends_due(shard, at())]
    first, mails_first, _ = told(lambda: deliveries.act(due, clock.now))
    second, mails_second, _ = told(lambda: deliveries.act(due, clock.now))  # the same index answer, again
    assert (first, second) == ("delivered", "dropped")
    assert mails_first == [("invitation", "ann@example.com")] and mails_second == []
    assert g.audit_kinds(pid).count("seat.delivered") == 1


# ---- the template -----------------------------------------------------------------------------------------


def test_given_the_template_when_read_then_deliveries_run_every_4_minutes_within_the_5_minute_promise() -> (
    None
):
    from local import template as tpl

    props = tpl.load()["Resources"]["DeliveriesFunction"]["Properties"]
    (schedule,) = [e["Properties"]["Schedule"] for e in props["Events"].values() if e["Type"] == "Schedule"]
    assert schedule == "rate(4 minutes)"
    assert props["Timeout"] < 240  # a run ends before the next one starts


# ---- the run: time and failures ----------------------------------------------------------------------------


def test_given_a_run_near_its_timeout_when_seats_are_due_then_it_stops_and_the_next_run_takes_them(
    clock: Any,
) -> None:
    pid = factories.paid_purchase(quantity=2)
    g.invite(pid, rows=[{"email": f"p{i}@example.com", "send_at": at(minutes=5)} for i in range(2)])
    clock.advance(minutes=6)
    stopped = deliveries.run(clock.now, deadline=lambda: deliveries.STOP_MARGIN_S - 1)
    assert (stopped.continued, stopped.delivered) == (True, 0)
    assert deliveries.run(clock.now).delivered == 2


def test_given_a_seat_fails_when_the_handler_runs_then_the_others_go_it_stays_due_and_the_run_raises(
    clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    pid = factories.paid_purchase(quantity=2)
    g.invite(pid, rows=[{"email": f"p{i}@example.com", "send_at": at(minutes=5)} for i in range(2)])
    clock.advance(minutes=6)
    real = deliveries.act

    def first_fails(seat: m.Seat, now: Any) -> str:
        if k.seat_sk("0001") == seat.SK:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException"}}, "TransactWriteItems"
            )
        return real(seat, now)

    monkeypatch.setattr(deliveries, "act", first_fails)
    app = load_handler("deliveries")
    with pytest.raises(app.DeliveriesIncomplete):
        app.handler({}, FakeContext())
    assert g.seat(pid, "0001").due_kind == "deliver" and g.seat(pid, "0002").due_kind == "nudge"
    monkeypatch.setattr(deliveries, "act", real)
    assert deliver_now()["delivered"] == 1  # the next run retries it


def test_given_a_seat_write_refused_by_a_conflict_when_the_run_goes_then_the_others_go_and_it_stays_due(
    clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from giftplans.store.table import Store
    from giftplans.store.writes import CONFLICT, Reason, Refused

    pid = factories.paid_purchase(quantity=2)
    g.invite(pid, rows=[{"email": f"p{i}@example.com", "send_at": at(minutes=5)} for i in range(2)])
    clock.advance(minutes=6)
    real = Store.write
    writes = {"n": 0}

    def first_conflicts(self: Store, build: Any) -> Any:  # e.g. a revoke of the same seat at that moment
        writes["n"] += 1
        if writes["n"] == 1:
            raise Refused(["seat", "audit"], [Reason("None", None), Reason(CONFLICT, None)])
        return real(self, build)

    monkeypatch.setattr(Store, "write", first_conflicts)
    app = load_handler("deliveries")
    with pytest.raises(app.DeliveriesIncomplete):  # the run went on, then says one failed
        app.handler({}, FakeContext())
    assert sorted(str(g.seat(pid, s).due_kind) for s in ("0001", "0002")) == ["deliver", "nudge"]
    monkeypatch.setattr(Store, "write", real)
    assert deliver_now()["delivered"] == 1  # the next run delivers it


def _freeze(pid: str, frozen: bool) -> None:
    g.purchase(pid).update(actions=[m.Purchase.frozen.set(frozen)])


def test_given_a_dispute_froze_the_purchase_when_send_at_passes_then_nothing_mailed_until_the_thaw(
    clock: Any,
) -> None:
    pid = factories.paid_purchase(quantity=2)
    g.invite(pid, rows=[{"email": "ann@example.com", "send_at": at(minutes=5)}])
    _freeze(pid, True)  # rule 14: charge.dispute.created
    clock.advance(minutes=6)
    result, mails, events = told(deliver_now)
    assert (result["held"], result["delivered"], result["failed"]) == (1, 0, 0)
    assert mails == [] and "seat.delivered" not in events
    seat = g.seat(pid, "0001")
    assert seat.due_kind == "deliver" and seat.GSI2SK is not None  # still due
    clock.advance(minutes=4)
    assert told(deliver_now)[1] == []  # still frozen: still nothing
    _freeze(pid, False)  # charge.dispute.closed, won
    clock.advance(minutes=4)
    result, mails, _ = told(deliver_now)
    assert result["delivered"] == 1 and mails == [("invitation", "ann@example.com")]
