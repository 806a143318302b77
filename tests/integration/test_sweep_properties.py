"""Missed nights, as a property (issue 14, item 9): whatever nights run, every purchase ends expired.

A seeded random loop (no shrinking needed: a failure prints its seed and its run instants).
Each seed buys purchases at random instants over two months (a random share with a seat in
use, a random share with an unassigned one), then sweeps at a random, increasing set of
instants from before the first reminder day to after the last term end: nights are
skipped at random, in long gaps (spanning a reminder, both reminders, or the term's end) as
well as one by one, some instants run twice, and the hour of day is random (before or after
the term's end time on its day). After every run and at the end:

- a purchase's due key is gone only once the purchase and every seat are recorded expired;
- at the end every purchase is expired, every seat `expired`, no due key left;
- from the stream of every run: each notice once (unique idempotency key, and at most one
  `plan_ended` per held seat, one `unused_seats` per purchase), reminders only while the term
  was active and never after the purchase's expiry notice, and `7` never before `30`.

`SEEDS` x `PURCHASES` = 240 purchases, each under its own random run set's gaps.
"""

from __future__ import annotations

import json
import os
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from giftplans import clock as real_clock
from giftplans import sweep, terms
from giftplans.outbox import notices
from giftplans.store import models as m
from moto.core.models import DEFAULT_ACCOUNT_ID as ACCOUNT_ID
from moto.dynamodbstreams.models import dynamodbstreams_backends

from tests.conftest import TEST_TABLE
from tests.integration.test_sweep import hold, items, set_cursor
from tests.support.factories import paid_purchase

pytestmark = pytest.mark.usefixtures("few_shards", "aws", "clock")

BEFORE_EXPIRY = (terms.REMIND_30, terms.REMIND_7, terms.EXPIRE)  # after expiry: no key, or privacy's erase
SEEDS = range(8)
PURCHASES = 30
FIRST_BUY = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
BUY_SPAN_S = 60 * 86400


@pytest.fixture
def few_shards(monkeypatch: pytest.MonkeyPatch, settings: None) -> None:
    monkeypatch.setenv("DUE_SHARDS", "2")


def run_instants(rng: random.Random, start: datetime, ends: list[datetime]) -> list[datetime]:
    """Increasing instants from `start` to past the last of `ends`: missed nights and long gaps.

    A gap that jumps over a term's end lands, half the time, on that end's own day after its
    time of day (the expire day not yet due, the term already over: the issue's black-box case).
    Some instants run twice.
    """
    out: list[datetime] = []
    at = start.replace(hour=rng.randrange(24), minute=rng.randrange(60))
    while at <= max(ends):
        out.append(at)
        if rng.random() < 0.15:
            out.append(at)  # the same run again (a retry, a manual re-run)
        gap = timedelta(
            days=rng.choice([1, 1, 1, 2, 3, 5, 9, 17, 26, 40])
        )  # up to both reminders and the end
        nxt = (at + gap).replace(hour=rng.randrange(24), minute=rng.randrange(60))
        jumped = [end for end in ends if at < end <= nxt]
        if jumped and rng.random() < 0.5:
            end = rng.choice(jumped)
            midnight = end.replace(hour=23, minute=59, second=59)
            nxt = end + timedelta(seconds=rng.randrange(1, int((midnight - end).total_seconds()) + 2))
        at = max(nxt, at + timedelta(minutes=1))
    out.append(max(ends) + timedelta(days=rng.randrange(1, 4), hours=rng.randrange(24)))  # surely after all
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_given_random_purchases_and_random_missed_nights_then_every_purchase_expires_and_each_notice_once(
    seed: int, clock: Any
) -> None:
    rng = random.Random(seed)
    bought: dict[str, tuple[datetime, bool, bool]] = {}  # pid -> (term_end, seat in use, seat unassigned)
    for n in range(PURCHASES):
        at = FIRST_BUY + timedelta(seconds=rng.randrange(BUY_SPAN_S))
        clock.set(at)
        held, unused = rng.random() < 0.7, rng.random() < 0.5
        pid = paid_purchase(quantity=2)
        if held:
            hold(pid, 1, f"sub-{seed}-{n}", f"r{n}@example.com")
        if not unused:
            hold(pid, 2, f"sub2-{seed}-{n}", f"s{n}@example.com")
        bought[pid] = (terms.term_end(at), held, unused)
    first_day = min(
        real_clock.parse_iso(terms.milestones(end)[0][1] + "T00:00:00Z") for end, _, _ in bought.values()
    )
    set_cursor((first_day - timedelta(days=1)).date().isoformat())
    runs = run_instants(rng, first_day, [end for end, _, _ in bought.values()])

    stream = StreamReader()
    stream.read()  # the purchases and holds: the state before the first night
    sent: list[tuple[datetime, Any]] = []
    for now in runs:
        clock.set(now)
        result = sweep.run(now)
        assert result.failed == 0, (seed, now)
        for record in stream.read():
            for notice in notices.notices_for(record):
                if notice.email is not None:
                    sent.append((now, notice))
        check_due_key_gone_only_when_expired(stream.state, seed, now)

    final = items()
    for pid in bought:
        p = final[(f"PURCHASE#{pid}", "PURCHASE")]
        assert isinstance(p, m.Purchase)
        assert (p.status, p.last_action) == ("paid", "expire"), (seed, pid, runs)
        assert p.due_kind not in BEFORE_EXPIRY, (seed, pid, runs)  # gone, or privacy's later erase
        assert p.expired_at is not None
    seats = [i for i in final.values() if isinstance(i, m.Seat)]
    assert len(seats) == 2 * PURCHASES and {s.state for s in seats} == {"expired"}, seed
    check_notices(sent, bought, seed, runs)


class StreamReader:
    """The table's own stream (moto's), read on from where the last read stopped; `state` is its replay."""

    def __init__(self) -> None:
        # moto's in-process mock does not route the dynamodbstreams API: read its backend directly.
        self.backend = dynamodbstreams_backends[ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]]
        arn = boto3.client("dynamodb").describe_table(TableName=TEST_TABLE)["Table"]["LatestStreamArn"]
        shard = self.backend.describe_stream(arn)["Shards"][0]["ShardId"]
        self.iterator = self.backend.get_shard_iterator(arn, shard, "TRIM_HORIZON").arn
        self.state: dict[tuple[str, str], dict[str, Any]] = {}

    def read(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            page = self.backend.get_records(self.iterator, 1000)
            self.iterator = page["NextShardIterator"]
            if not page["Records"]:
                break
            out.extend(json.loads(json.dumps(page["Records"], default=str)))
        for record in out:
            keys = record["dynamodb"]["Keys"]
            key = (keys["PK"]["S"], keys["SK"]["S"])
            if "NewImage" in record["dynamodb"]:
                self.state[key] = record["dynamodb"]["NewImage"]
            else:
                self.state.pop(key, None)
        return out


def check_due_key_gone_only_when_expired(
    state: dict[tuple[str, str], dict[str, Any]], seed: int, now: datetime
) -> None:
    """Replayed from the stream after a run: a purchase without a due key is expired, and so is every seat."""
    seats_of: dict[str, set[str]] = defaultdict(set)
    for (pk, sk), image in state.items():
        if sk.startswith("SEAT#"):
            seats_of[pk].add(image["state"]["S"])
    for (pk, sk), image in state.items():
        if sk == "PURCHASE" and image.get("due_kind", {}).get("S") not in BEFORE_EXPIRY:
            assert "expired_at" in image, (seed, now, pk)
            assert seats_of[pk] == {"expired"}, (seed, now, pk, seats_of[pk])


def check_notices(
    sent: list[tuple[datetime, Any]], bought: dict[str, tuple[datetime, bool, bool]], seed: int, runs: Any
) -> None:
    keys = [n.key for _, n in sent]
    assert len(keys) == len(set(keys)), seed  # each notice once
    by_purchase: dict[str, list[tuple[datetime, Any]]] = defaultdict(list)
    for at, notice in sent:
        by_purchase[str(notice.email.params["purchase_id"])].append((at, notice))
    for pid, (end, held, unused) in bought.items():
        got = by_purchase[pid]
        kinds = [n.kind for _, n in got]
        # Exactly one end-of-plan mail per held seat (seat 2 is held when not unused), one unused-seats mail.
        assert kinds.count("plan_ended") == held + (not unused), (seed, pid, kinds, runs)
        assert kinds.count("unused_seats") == (unused or not held), (seed, pid, kinds, runs)
        ended_at = min(at for at, n in got if n.kind in ("plan_ended", "unused_seats"))
        for at, notice in got:
            if notice.kind in ("recipient_reminder", "buyer_reminder"):
                assert at < end and at < ended_at, (seed, pid, kinds, runs)  # only while the term ran
        for who in {(n.kind, n.email.to) for _, n in got if n.kind.endswith("_reminder")}:
            days = [int(n.email.params["days"]) for _, n in got if (n.kind, n.email.to) == who]
            assert days in ([30], [7], [30, 7]), (seed, pid, who, days, runs)  # once each, 30 before 7
