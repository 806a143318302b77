"""The nightly sweep: reminders once, expiry once, missed nights caught up, crashes resumed (issue 5).

Purchases are bought at the clock's start, 2026-03-01T12:00Z, so term_end is
2027-03-01T12:00Z and the milestones are remind_30 on 2027-01-30, remind_7 on 2027-02-22
and expire on 2027-03-02.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from giftplans import clock, sweep, terms, views
from giftplans.clock import parse_iso
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.tokens import email_key
from pynamodb.transactions import TransactWrite

from tests.conftest import TEST_TABLE
from tests.support import streams
from tests.support.apigw import FakeContext, load_handler
from tests.support.factories import paid_purchase

pytestmark = pytest.mark.usefixtures("few_shards", "aws", "clock")


@pytest.fixture
def few_shards(monkeypatch: pytest.MonkeyPatch, settings: None) -> None:
    """Two due shards keep moto fast (each day is one Query per shard); the scale test uses the default 8."""
    monkeypatch.setenv("DUE_SHARDS", "2")


REMIND_30_NIGHT = datetime(2027, 1, 30, 3, 0, tzinfo=UTC)
REMIND_7_NIGHT = datetime(2027, 2, 22, 3, 0, tzinfo=UTC)
EXPIRE_NIGHT = datetime(2027, 3, 2, 3, 0, tzinfo=UTC)


BEFORE_EXPIRY = (terms.REMIND_30, terms.REMIND_7, terms.EXPIRE)  # after expiry: no key, or privacy's erase


# ---- helpers ---------------------------------------------------------------------------------------------


def versions() -> Versions:
    """Every versioned item on the table: (PK, SK) -> version (a test-only Scan)."""
    client = boto3.client("dynamodb")
    out: dict[tuple[str, str], int] = {}
    kwargs: dict[str, Any] = {"TableName": TEST_TABLE}
    while True:
        page = client.scan(**kwargs)
        for item in page["Items"]:
            if "version" in item:
                out[(item["PK"]["S"], item["SK"]["S"])] = int(item["version"]["N"])
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


Versions = dict[tuple[str, str], int]


def moved(before: Versions, after: Versions) -> Versions:
    return {key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)}


def seat(purchase_id: str, seat_no: int) -> m.Seat:
    return m.Seat.get(k.purchase_pk(purchase_id), k.seat_sk(k.seat_id_of(seat_no)), consistent_read=True)


def purchase(purchase_id: str) -> m.Purchase:
    found = get_store().purchase(purchase_id)
    assert found is not None
    return found


def hold(purchase_id: str, seat_no: int, sub: str, email: str, state: str = "accepted") -> None:
    """Given-step: a seat accepted (or claimed) the way the transition writes it, with its entitlement."""
    p = purchase(purchase_id)
    seat_id = k.seat_id_of(seat_no)
    key = email_key(email)
    stamp = clock.iso(clock.now())
    with TransactWrite(connection=get_store().connection) as tx:
        tx.update(
            m.Seat(k.purchase_pk(purchase_id), k.seat_sk(seat_id)),
            actions=[
                m.Seat.state.set(state),
                m.Seat.recipient_email.set(email),
                m.Seat.recipient_sub.set(sub),
                m.Seat.accepted_at.set(stamp),
                m.Seat.version.add(1),
                m.Seat.last_action.set(state[:-2]),
                m.Seat.GSI3PK.set(k.email_gsi(key)),
                m.Seat.GSI3SK.set(f"SEAT#{purchase_id}#{seat_id}"),
            ],
            condition=m.Seat.state == "available",
        )
        tx.update(
            p,
            actions=[
                m.Purchase.seat_counts.available.add(-1),  # type: ignore[attr-defined]
                getattr(m.Purchase.seat_counts, state).add(1),
                m.Purchase.holes.add(1),  # taken out of the fresh run directly
                m.Purchase.version.add(1),
                m.Purchase.last_action.set(state[:-2]),
            ],
        )
        tx.save(
            m.Entitlement(
                k.account_pk(sub),
                k.ENTITLEMENT_SK,
                sub=sub,
                plan=p.plan,
                source="gift" if state == "accepted" else "claim",
                term_end=p.term_end,
                term_end_ts=p.term_end_ts,
                purchase_id=purchase_id,
                seat_id=seat_id,
                updated_at=stamp,
            )
        )


def invite(purchase_id: str, seat_no: int, email: str) -> None:
    """Given-step: an open invitation on a seat (purchase holders and counts kept)."""
    seat_id = k.seat_id_of(seat_no)
    with TransactWrite(connection=get_store().connection) as tx:
        tx.update(
            m.Seat(k.purchase_pk(purchase_id), k.seat_sk(seat_id)),
            actions=[
                m.Seat.state.set("invited"),
                m.Seat.recipient_email.set(email),
                m.Seat.nonce.set("n"),
                m.Seat.token_hash.set("h"),
                m.Seat.version.add(1),
                m.Seat.last_action.set("invite"),
            ],
            condition=m.Seat.state == "available",
        )
        tx.update(
            purchase(purchase_id),
            actions=[
                m.Purchase.seat_counts.available.add(-1),  # type: ignore[attr-defined]
                m.Purchase.seat_counts.invited.add(1),  # type: ignore[attr-defined]
                m.Purchase.holes.add(1),  # taken out of the fresh run directly
                m.Purchase.version.add(1),
                m.Purchase.last_action.set("invite"),
            ],
        )


def set_cursor(day: str) -> None:
    m.SweepCursor(
        sweep.CURSOR_PK, sweep.CURSOR_SK, last_done_day=day, updated_at="2026-01-01T00:00:00Z"
    ).save()


def to_expiry() -> None:
    """Given-step: the reminder nights of purchases bought at the clock's start have been swept."""
    sweep.run(REMIND_30_NIGHT, since=REMIND_30_NIGHT.date())
    sweep.run(REMIND_7_NIGHT, since=REMIND_7_NIGHT.date())
    set_cursor("2027-03-01")


def entitlement(sub: str) -> m.Entitlement:
    return m.Entitlement.get(k.account_pk(sub), k.ENTITLEMENT_SK, consistent_read=True)


# ---- reminders -------------------------------------------------------------------------------------------


def test_given_seats_in_use_and_invited_when_remind_nights_swept_twice_then_each_reminder_once() -> None:
    pid = paid_purchase(quantity=4)
    hold(pid, 1, "sub-ann", "ann@example.com")
    hold(pid, 2, "buyer-1", "buyer@example.com", state="claimed")
    invite(pid, 3, "bob@example.com")

    first = sweep.run(REMIND_30_NIGHT)
    before_again = versions()
    again = sweep.run(REMIND_30_NIGHT)

    assert moved(before_again, versions()) == {}
    assert (first.due, first.failed, again.due) == (1, 0, 0)
    for n in (1, 2):
        got = seat(pid, n)
        assert (got.reminders, got.last_action, got.actor, got.version) == ({"30"}, "remind_30", "sweep", 3)
    assert seat(pid, 3).reminders is None and seat(pid, 3).state == "invited"
    assert seat(pid, 4).version == 1
    after_30 = purchase(pid)
    shard = terms.due_shard(pid, 2)
    assert (after_30.reminders, after_30.last_action, after_30.due_kind) == ({"30"}, "remind_30", "remind_7")
    assert k.due_gsi("2027-02-22", shard) == after_30.GSI2PK

    sweep.run(REMIND_7_NIGHT)
    before_again = versions()
    sweep.run(REMIND_7_NIGHT)

    assert moved(before_again, versions()) == {}
    assert seat(pid, 1).reminders == {"30", "7"} and seat(pid, 1).version == 4
    after_7 = purchase(pid)
    assert (after_7.reminders, after_7.due_kind, after_7.GSI2PK) == (
        {"30", "7"},
        "expire",
        k.due_gsi("2027-03-02", shard),
    )


def test_given_all_nights_missed_until_after_term_when_sweep_runs_then_it_expires_without_reminders() -> None:
    pid = paid_purchase(quantity=2)
    hold(pid, 1, "sub-ann", "ann@example.com")

    result = sweep.run(EXPIRE_NIGHT, since=date(2027, 1, 29))

    assert (result.due, result.expired, result.failed) == (1, 2, 0)
    assert seat(pid, 1).state == "expired" and seat(pid, 1).reminders is None
    assert seat(pid, 1).version == 3  # create, accept, expire: no reminder in between
    assert purchase(pid).reminders is None


# ---- expiry ----------------------------------------------------------------------------------------------


def test_given_nights_missed_across_the_term_end_when_swept_after_it_then_expired_at_once_and_key_gone() -> (
    None
):
    """Issue 14: found on its reminder key an hour after term_end (expire day not yet due): expire now."""
    pid = paid_purchase(quantity=2)
    hold(pid, 1, "sub-ann", "ann@example.com")
    an_hour_after = datetime(2027, 3, 1, 13, 0, tzinfo=UTC)

    first = sweep.run(an_hour_after, since=date(2027, 1, 29))
    next_day = sweep.run(datetime(2027, 3, 2, 13, 0, tzinfo=UTC))

    assert (first.due, first.reminded, first.expired, first.failed) == (1, 0, 2, 0)
    assert [seat(pid, n).state for n in (1, 2)] == ["expired", "expired"]
    assert seat(pid, 1).reminders is None  # no late reminder after the term ended
    got = purchase(pid)
    assert (got.status, got.last_action) == ("paid", "expire") and got.due_kind not in BEFORE_EXPIRY
    assert got.expired_at == "2027-03-01T13:00:00Z" and entitlement("sub-ann").ended
    assert next_day.due == 0


def test_given_expiry_of_a_seat_fails_when_found_on_reminder_key_after_term_then_due_key_kept_for_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from giftplans import expiry

    pid = paid_purchase(quantity=2)
    real_write = type(get_store()).write
    calls = {"n": 0}

    def first_chunk_fails(self: Any, build: Any) -> Any:
        # the seats expire 25 to a transaction (giftplans.expiry): the purchase's only chunk fails
        if isinstance(build, functools.partial) and build.func is expiry._steps:
            calls["n"] += 1
            if calls["n"] == 1:
                error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}
                raise ClientError(error, "TransactWriteItems")  # type: ignore[arg-type]
        return real_write(self, build)

    monkeypatch.setattr(type(get_store()), "write", first_chunk_fails)
    failed = sweep.run(datetime(2027, 3, 1, 13, 0, tzinfo=UTC), since=date(2027, 1, 29))
    monkeypatch.setattr(type(get_store()), "write", real_write)

    assert (
        failed.failed == 1 and purchase(pid).due_kind == "remind_30"
    )  # the key stays until expiry is recorded
    assert [seat(pid, n).state for n in (1, 2)] == ["available", "available"]
    retried = sweep.run(datetime(2027, 3, 2, 13, 0, tzinfo=UTC))
    assert (retried.failed, retried.expired) == (0, 2)
    assert [seat(pid, n).state for n in (1, 2)] == ["expired", "expired"]
    assert purchase(pid).due_kind not in BEFORE_EXPIRY


def test_given_manual_now_beyond_the_clock_plus_skew_when_handler_runs_then_refused_and_nothing_changed() -> (
    None
):
    pid = paid_purchase(quantity=1)
    hold(pid, 1, "sub-ann", "ann@example.com")
    app = load_handler("expiry_sweep")
    before = versions()

    with clock_at(EXPIRE_NIGHT), pytest.raises(sweep.SweepRefused):
        app.handler({"now": "2027-03-02T03:05:01Z"}, LongContext())  # 5 minutes and 1 second ahead
    with pytest.raises(sweep.SweepRefused):
        app.handler({"now": "2027-03-02T03:00:00Z"}, LongContext())  # the clock is still at the purchase

    assert moved(before, versions()) == {} and sweep.read_cursor() is None
    with clock_at(EXPIRE_NIGHT):
        result = app.handler({"now": "2027-03-02T03:04:59Z", "from": "2027-01-29"}, LongContext())
    assert result["expired"] == 1 and seat(pid, 1).state == "expired"  # within the skew: runs


@pytest.mark.parametrize(
    "payload",
    [
        {"now": "yesterday"},
        {"now": "2027-03-02T03:00:00"},  # no offset: every instant here is UTC-aware
        {"now": 1803956400},
        {"from": "2027-13-01"},
        {"from": 20270101},
        {"hop": -1},
        {"hop": "1"},
        {"hop": True},
        {"close": ""},
        {"close": "p" * 65},
        {"close": 7},
    ],
)
def test_given_malformed_manual_payload_when_handler_runs_then_refused_and_nothing_changed(
    payload: dict[str, Any],
) -> None:
    pid = paid_purchase(quantity=1)
    hold(pid, 1, "sub-ann", "ann@example.com")
    app = load_handler("expiry_sweep")
    before = versions()

    with clock_at(EXPIRE_NIGHT), pytest.raises(ValueError, match=r"'(now|from|hop|close)'"):
        app.handler({"now": "2027-03-02T03:00:00Z", **payload}, LongContext())

    assert moved(before, versions()) == {} and sweep.read_cursor() is None


def test_given_scheduled_event_fields_when_handler_runs_then_they_are_ignored_and_the_clock_decides() -> None:
    pid = paid_purchase(quantity=1)
    hold(pid, 1, "sub-ann", "ann@example.com")
    app = load_handler("expiry_sweep")
    scheduled = {"version": "0", "source": "aws.scheduler", "time": "2020-01-01T00:00:00Z", "detail": {}}

    with clock_at(EXPIRE_NIGHT):
        result = app.handler(scheduled, LongContext())

    assert result["expired"] == 1 and seat(pid, 1).state == "expired"


def test_given_due_purchases_when_expiry_night_swept_twice_then_every_transition_happens_once() -> None:
    pid = paid_purchase(quantity=4)
    hold(pid, 1, "sub-ann", "ann@example.com")
    hold(pid, 2, "buyer-1", "buyer@example.com", state="claimed")
    invite(pid, 3, "bob@example.com")
    to_expiry()
    before = versions()

    first = sweep.run(EXPIRE_NIGHT)
    after_first = versions()
    second = sweep.run(EXPIRE_NIGHT)

    assert moved(after_first, versions()) == {}
    pk = k.purchase_pk(pid)
    expected = {(pk, "PURCHASE"): 1, **{(pk, f"SEAT#000{n}"): 1 for n in (1, 2, 3, 4)}}
    assert moved(before, after_first) == expected
    assert (first.due, first.expired, first.failed, first.last_done_day) == (1, 4, 0, "2027-03-02")
    assert (second.due, second.expired, second.days_done) == (0, 0, 0)
    for n in (1, 2, 3, 4):
        got = seat(pid, n)
        assert (got.state, got.last_action, got.actor, got.ended_at) == (
            "expired",
            "expire",
            "sweep",
            "2027-03-02T03:00:00Z",
        )
    done = purchase(pid)
    assert done.seat_counts.as_dict() == {
        "available": 0,
        "invited": 0,
        "accepted": 0,
        "claimed": 0,
        "upgraded": 0,
        "expired": 4,
        "cancelled": 0,
    }
    assert (done.last_action, done.expired_at) == ("expire", "2027-03-02T03:00:00Z")
    # the due key moves on to the erasure of the recipients' addresses, 90 days after term_end
    assert done.due_kind == "erase" and str(done.GSI2PK).startswith("DUE#2027-05-30#")
    assert entitlement("sub-ann").ended and entitlement("buyer-1").ended


def test_given_term_ended_one_second_ago_when_read_before_any_sweep_then_plan_and_seats_read_ended(
    clock: Any,
) -> None:
    from giftplans import entitlements

    pid = paid_purchase(quantity=2)
    hold(pid, 1, "sub-ann", "ann@example.com")
    clock.set(datetime(2027, 3, 1, 12, 0, 1, tzinfo=UTC))

    view = views.PurchaseView.of(purchase(pid), clock.now).as_json()
    seat_states = [views.SeatView.of(seat(pid, n), term_ended=True).state for n in (1, 2)]

    assert view["active"] is False and view["days_left"] == 0
    assert view["seat_counts"] == {**{s: 0 for s in m.SEAT_STATES}, "expired": 2}
    assert seat_states == ["expired", "expired"]
    assert not entitlements.is_active(entitlement("sub-ann"), clock.now)
    assert seat(pid, 1).state == "accepted"  # nothing was written: the reads alone are right


def items() -> dict[tuple[str, str], m.Item]:
    """Every item on the table (a test-only Scan)."""
    return {(item.PK, item.SK): item for item in m.Item.scan(consistent_read=True)}


def stream_of(run: Any) -> list[dict[str, Any]]:
    """The stream records `run()` causes: one MODIFY per changed item (the sweep writes each at most once)."""
    before = items()
    run()
    after = items()
    return [
        streams.record(before[key], item)
        for key, item in after.items()
        if key in before and item.serialize() != before[key].serialize()
    ]


def test_given_remind_and_expiry_nights_each_swept_twice_then_the_stream_calls_for_each_notice_once() -> None:
    from giftplans.outbox import notices

    pid = paid_purchase(quantity=3)
    hold(pid, 1, "sub-ann", "ann@example.com")
    invite(pid, 2, "bob@example.com")
    nights = (REMIND_30_NIGHT, REMIND_30_NIGHT, REMIND_7_NIGHT, REMIND_7_NIGHT, EXPIRE_NIGHT, EXPIRE_NIGHT)

    records = [
        record
        for night in nights
        for record in stream_of(lambda night=night: sweep.run(night, since=night.date()))
    ]

    sent = [n for r in records for n in notices.notices_for(r) if n.email is not None]

    kinds = sorted((n.kind, n.email.to) for n in sent if n.email)
    assert kinds == sorted(
        [
            ("recipient_reminder", "ann@example.com"),
            ("recipient_reminder", "ann@example.com"),  # 30 and 7
            ("buyer_reminder", "buyer@example.com"),
            ("buyer_reminder", "buyer@example.com"),  # seat 3 unassigned
            ("plan_ended", "ann@example.com"),
            ("unused_seats", "buyer@example.com"),
        ]
    )
    assert len({n.key for n in sent}) == len(sent)


def test_given_holder_moved_on_to_another_plan_when_old_purchase_expires_then_new_plan_untouched() -> None:
    pid = paid_purchase(quantity=1)
    hold(pid, 1, "sub-ann", "ann@example.com")
    m.Entitlement(
        k.account_pk("sub-ann"),
        k.ENTITLEMENT_SK,
        sub="sub-ann",
        sub_plan="team",
        sub_status="active",
        sub_term_end="2028-01-01T00:00:00Z",
        sub_term_end_ts=1830297600,
        subscription_id="sub_1",
        updated_at="2027-01-01T00:00:00Z",
    ).save()
    to_expiry()

    sweep.run(EXPIRE_NIGHT)

    assert seat(pid, 1).state == "expired"
    assert (entitlement("sub-ann").sub_status, entitlement("sub-ann").sub_plan) == ("active", "team")


def test_given_29_february_purchase_when_swept_then_it_expires_after_28_february(clock: Any) -> None:
    clock.set(datetime(2028, 2, 29, 10, 0, tzinfo=UTC))
    pid = paid_purchase(quantity=2)
    assert purchase(pid).term_end == "2029-02-28T10:00:00Z"
    assert dict(terms.milestones(parse_iso(purchase(pid).term_end)))["expire"] == "2029-03-01"
    sweep.run(datetime(2029, 1, 29, 3, 0, tzinfo=UTC), since=date(2029, 1, 29))
    sweep.run(datetime(2029, 2, 21, 3, 0, tzinfo=UTC), since=date(2029, 2, 21))
    set_cursor("2029-02-27")

    sweep.run(datetime(2029, 2, 28, 9, 0, tzinfo=UTC))
    before_end = [seat(pid, n).state for n in (1, 2)]
    sweep.run(datetime(2029, 3, 1, 0, 5, tzinfo=UTC))

    assert before_end == ["available", "available"]
    assert [seat(pid, n).state for n in (1, 2)] == ["expired", "expired"]
    view = views.seat_counts(purchase(pid).seat_counts.as_dict(), term_ended=True)
    assert view["expired"] == 2


def test_given_unpaid_purchase_when_its_milestone_is_due_then_key_dropped_and_seats_untouched() -> None:
    pid = paid_purchase(quantity=2, status="pending_payment")
    set_cursor("2027-01-29")

    result = sweep.run(REMIND_30_NIGHT)

    got = purchase(pid)
    assert (result.due, result.reminded) == (1, 0)
    assert (got.due_kind, got.GSI2PK, got.last_action, got.reminders) == (None, None, sweep.DUE_MOVED, None)
    assert [seat(pid, n).version for n in (1, 2)] == [1, 1]


class LongContext(FakeContext):
    """A Lambda context with plenty of time left."""

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 600_000


# ---- missed nights, crashes, continuation ----------------------------------------------------------------


def test_given_three_missed_nights_when_sweep_runs_then_everything_due_on_them_is_handled(clock: Any) -> None:
    bought = []
    for day in (1, 2, 3):  # expire nights 2027-03-02, -03, -04
        clock.set(datetime(2026, 3, day, 12, 0, tzinfo=UTC))
        bought.append(paid_purchase(quantity=2))
    sweep.run(datetime(2027, 3, 1, 3, 0, tzinfo=UTC), since=date(2027, 1, 29))  # the last night that ran

    result = sweep.run(datetime(2027, 3, 5, 3, 0, tzinfo=UTC))  # 2, 3 and 4 March were missed

    assert (result.due, result.expired, result.days_done, result.last_done_day) == (3, 6, 4, "2027-03-05")
    assert all(seat(pid, n).state == "expired" for pid in bought for n in (1, 2))
    assert sweep.read_cursor() == "2027-03-05"


def test_given_sweep_crashes_half_way_when_run_again_then_it_finishes_and_no_transition_happens_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bought = [paid_purchase(quantity=3) for _ in range(6)]
    to_expiry()
    before = versions()
    real_expire = sweep._expire
    calls = {"n": 0}

    def crash_after_three(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the process died")
        real_expire(*args, **kwargs)

    monkeypatch.setattr(sweep, "_expire", crash_after_three)
    with pytest.raises(RuntimeError):
        sweep.run(EXPIRE_NIGHT)
    half = sum(seat(pid, 1).state == "expired" for pid in bought)
    monkeypatch.setattr(sweep, "_expire", real_expire)
    assert sweep.read_cursor() == "2027-03-01"

    result = sweep.run(EXPIRE_NIGHT)

    assert half == 2
    assert (result.due, result.failed, result.last_done_day) == (4, 0, "2027-03-02")
    changes = moved(before, versions())
    assert len(changes) == 6 * 4 and set(changes.values()) == {1}  # 6 purchases + 18 seats, each once


def test_given_a_purchase_fails_when_swept_then_it_is_counted_the_day_stays_undone_and_next_run_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ok, bad = paid_purchase(quantity=1), paid_purchase(quantity=1)
    to_expiry()
    real_handle = sweep.handle

    def flaky(item: m.Purchase, *args: Any) -> None:
        if item.purchase_id == bad:
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}
            raise ClientError(error, "UpdateItem")  # type: ignore[arg-type]
        real_handle(item, *args)

    monkeypatch.setattr(sweep, "handle", flaky)
    app = load_handler("expiry_sweep")
    with clock_at(EXPIRE_NIGHT), pytest.raises(sweep.SweepIncomplete):
        app.handler({"now": "2027-03-02T03:00:00Z"}, LongContext())
    assert seat(ok, 1).state == "expired" and seat(bad, 1).state == "available"
    assert sweep.read_cursor() == "2027-03-01"

    monkeypatch.setattr(sweep, "handle", real_handle)
    with clock_at(EXPIRE_NIGHT):
        result = app.handler({"now": "2027-03-02T03:00:00Z"}, LongContext())

    assert (result["due"], result["expired"], result["failed"]) == (1, 1, 0)
    assert seat(bad, 1).state == "expired" and sweep.read_cursor() == "2027-03-02"


def test_given_more_due_than_one_invocation_when_handler_runs_then_it_continues_itself_until_done() -> None:
    bought = [paid_purchase(quantity=2) for _ in range(5)]
    to_expiry()
    app = load_handler("expiry_sweep")
    hops: list[dict[str, Any]] = []
    budget = {"left": 2}

    def deadline_after_two() -> float:  # two purchases per invocation, then "a minute left"
        budget["left"] -= 1
        return 600.0 if budget["left"] >= 0 else 30.0

    class ShortContext(FakeContext):
        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return int(deadline_after_two() * 1000)

    event: dict[str, Any] = {
        "version": "0",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": "2020-01-01T00:00:00Z",
    }
    with clock_at(EXPIRE_NIGHT):
        results = []
        while True:
            budget["left"] = 2
            results.append(app.build(continue_with=hops.append)(event, ShortContext()))
            if not results[-1]["continued"]:
                break
            event = hops[-1]

    assert [h["hop"] for h in hops] == [1, 2]
    assert all(h["now"] == "2027-03-02T03:00:00Z" for h in hops)
    assert sum(r["due"] for r in results) == 5 and sum(r["expired"] for r in results) == 10
    assert all(seat(pid, n).state == "expired" for pid in bought for n in (1, 2))
    assert sweep.read_cursor() == "2027-03-02"


class clock_at:  # reads as a phrase in the test
    def __init__(self, instant: datetime) -> None:
        self.instant = instant

    def __enter__(self) -> None:
        clock.freeze(self.instant)

    def __exit__(self, *exc: object) -> None:
        clock.freeze(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
