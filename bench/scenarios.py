"""The round-trip scenarios: each user action through its real handler, its DynamoDB requests counted.

Every function here expects an emulated account with the table already made (the
tests' `aws` fixture, or `bench.account.emulated()`) and a frozen clock. Each
scenario first builds its Given state uncounted, then counts only the action itself
(`tests.support.ddb_calls.counting`), and checks the action succeeded: a refused
request costs fewer round trips and would flatter the figure.

Targets are the issue's budgets; `TARGETS[key](size)` is the most a key may cost.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from giftplans import clock, givers

from tests.support import factories, streams
from tests.support import gifts as g
from tests.support.apigw import call, http_event
from tests.support.ddb_calls import Calls, counting
from tests.support.stripe_events import sign

WEBHOOK_SECRET = "whsec_local_dev"  # noqa: S105 - giftplans.secrets' local default; the bench sets nothing else


def webhook_target(seats: int) -> int:
    return math.ceil(seats / 100) + 3


# key -> (target, short description of the target)
FIXED_TARGETS: dict[str, tuple[int, str]] = {
    "invite_1": (2, "<= 2"),
    "invite_25": (2, "<= 2"),  # one read (Holder items with it), one transaction of 78 items
    "accept": (1, "1"),  # one transaction; `gift_from` comes from the stream (giftplans.givers)
    "revoke": (1, "1"),
    "decline": (1, "1"),
    "resend": (1, "1"),
    "claim": (2, "2"),
    "get_entitlement": (1, "1"),
    "list_purchases": (1, "1"),
    "get_purchase_100_seats": (2, "<= 2"),
}


def target(key: str) -> tuple[int | None, str]:
    """(most round trips allowed, how the README writes it); None when the key has no budget (the sweep)."""
    if key.startswith("checkout_webhook_paid_"):
        seats = int(key.rsplit("_", 1)[1])
        return webhook_target(seats), f"<= ceil({seats}/100)+3 = {webhook_target(seats)}"
    if key.startswith("invite_list_"):
        rows = int(key.rsplit("_", 1)[1])
        most = math.ceil(rows / 25) + 4
        return most, f"<= ceil({rows}/25)+4 = {most}"
    if key.startswith(("refund_", "expire_")):
        seats = int(key.rsplit("_", 1)[1])
        most = math.ceil(seats / 25) + 5
        return most, f"<= ceil({seats}/25)+5 = {most}"
    if key in FIXED_TARGETS:
        return FIXED_TARGETS[key]
    return None, "-"


@dataclass
class Measured:
    ddb_calls: dict[str, int] = field(default_factory=dict)
    operations: dict[str, list[str]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    scan_calls: int = 0

    def record(self, key: str, calls: Calls, seconds: float | None = None) -> None:
        self.ddb_calls[key] = len(calls)
        self.operations[key] = list(calls.names)
        self.scan_calls += calls.by_operation["Scan"]
        if seconds is not None:
            self.seconds[key] = seconds

    def over_budget(self) -> list[str]:
        out = []
        for key, n in self.ddb_calls.items():
            most, _ = target(key)
            if most is not None and n > most:
                out.append(f"{key}: {n} round trips, target {most} ({self.operations[key]})")
        if self.scan_calls:
            out.append(f"scan_calls: {self.scan_calls}, target 0")
        return out


def _ok(key: str, status: int, body: Any) -> None:
    if not 200 <= status < 300:
        raise AssertionError(f"{key}: the action failed with {status}: {body}")


# ---- the webhook --------------------------------------------------------------------------------------


def gift_checkout_event(seats: int, n: int, buyer: str = "bench-buyer") -> dict[str, Any]:
    """A `checkout.session.completed` event for a paid gift checkout, as our checkout creates it."""
    session_id = f"cs_test_bench_{seats}_{n:06d}"
    email = f"{buyer}@example.com"
    return {
        "id": f"evt_bench_{seats}_{n:06d}",
        "object": "event",
        "type": "checkout.session.completed",
        "created": clock.epoch(clock.now()),
        "livemode": False,
        "api_version": "2026-08-27.basil",
        "data": {
            "object": {
                "id": session_id,
                "object": "checkout.session",
                "mode": "payment",
                "status": "complete",
                "payment_status": "paid",
                "client_reference_id": buyer,
                "customer_email": email,
                "customer_details": {"email": email, "name": None},
                "metadata": {
                    "kind": "gift",
                    "buyer_id": buyer,
                    "buyer_email": email,
                    "plan": "pro",
                    "quantity": str(seats),
                },
                "currency": "usd",
                "amount_subtotal": 24000 * seats,
                "amount_total": 24000 * seats,
                "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
                "payment_intent": f"pi_bench_{seats}_{n:06d}",
            }
        },
    }


def signed_webhook_request(evt: dict[str, Any]) -> dict[str, Any]:
    raw = json.dumps(evt)
    signature = sign(raw.encode(), WEBHOOK_SECRET)  # at the wall clock, as Stripe signs
    return http_event("POST", "/webhooks/stripe", raw_body=raw, headers={"stripe-signature": signature})


def deliver_paid_checkout(seats: int, n: int = 1) -> tuple[Calls, float]:
    """POST one signed paid checkout of `seats` seats to the real stripe_webhook handler; (calls, seconds)."""
    import time

    request = signed_webhook_request(gift_checkout_event(seats, n))
    with counting() as calls:
        started = time.perf_counter()
        status, body = call("stripe_webhook", request)
        elapsed = time.perf_counter() - started
    _ok(f"checkout_webhook_paid_{seats}", status, body)
    if not str((body or {}).get("result", "")).startswith("paid "):
        raise AssertionError(f"webhook for {seats} seats did not fulfil: {body}")
    return calls, elapsed


# ---- seat actions and reads ---------------------------------------------------------------------------


def _counted(key: str, measured: Measured, action: Callable[[], tuple[int, Any]]) -> Any:
    with counting() as calls:
        status, body = action()
    _ok(key, status, body)
    measured.record(key, calls)
    return body


def seat_actions(measured: Measured, invite_sizes: tuple[int, ...] = (1, 25)) -> None:
    """invite_N, accept, revoke, decline, resend, claim, and the three reads."""
    for size in invite_sizes:
        pid = factories.paid_purchase(quantity=size + 4)
        emails = [f"r{size}-{i}@example.com" for i in range(size)]
        _counted(f"invite_{size}", measured, partial(g.invite, pid, *emails))

    pid = factories.paid_purchase(quantity=6)
    g.invite(pid, "accepts@example.com", "revoked@example.com", "declines@example.com", "resent@example.com")
    recipient = g.who("recipient-1", "accepts@example.com")
    accept_token = g.link(pid, "0001")
    invited = g.seat(pid, "0001")
    _counted("accept", measured, lambda: g.accept(accept_token, recipient))
    givers.fill([streams.record(invited, g.seat(pid, "0001"))])  # the stream: gift_from onto My plan
    _counted("revoke", measured, lambda: g.seat_action(pid, "0002", "revoke"))
    decline_token = g.link(pid, "0003")
    _counted("decline", measured, lambda: g.decline(decline_token))
    clock.freeze(clock.now() + timedelta(minutes=10))  # past the resend spacing
    _counted("resend", measured, lambda: g.seat_action(pid, "0004", "resend"))
    _counted("claim", measured, lambda: g.claim(pid))
    _counted("get_entitlement", measured, lambda: g.entitlement(recipient))
    _counted(
        "list_purchases",
        measured,
        lambda: call("purchases_api", http_event("GET", "/purchases", claims=g.who())),
    )

    big = factories.paid_purchase(buyer_sub="bench-reader", buyer_email="reader@example.com", quantity=100)
    reader = g.who("bench-reader", "reader@example.com")
    body = _counted(
        "get_purchase_100_seats",
        measured,
        lambda: call(
            "purchases_api",
            http_event(
                "GET",
                f"/purchases/{big}",
                route="/purchases/{purchase_id}",
                claims=reader,
                path_params={"purchase_id": big},
            ),
        ),
    )
    if len(body.get("seats") or []) != 100:
        raise AssertionError(f"get_purchase_100_seats returned {len(body.get('seats') or [])} seats, not 100")


# ---- the sweep ----------------------------------------------------------------------------------------

EXPIRE_NIGHT = datetime(2027, 3, 2, 3, 0, tzinfo=UTC)  # purchases bought at the clock's start expire
REMINDER_NIGHTS = (date(2027, 1, 30), date(2027, 2, 22))  # their 30- and 7-day reminders


@dataclass
class SweepFigures:
    due_seats: int
    due_purchases: int
    table_seats: int
    calls: list[str]
    items_read: int
    seconds: float


def sweep_scale(
    due_purchases: int, seats_each: int, filler_seats: int, write_filler: Callable[[int], None]
) -> SweepFigures:
    """`due_purchases` x `seats_each` seats expire tonight in a table holding `filler_seats` more seats.

    The due purchases are bought through fulfilment on the clock's start and have their
    reminder nights swept while the table is small; then the filler is written (seats
    due months later) and the expiry night is swept, counted.
    """
    import time

    from giftplans import sweep
    from giftplans.store import models as m

    start = clock.now()
    for _ in range(due_purchases):
        factories.paid_purchase(quantity=seats_each, at=start)
    for night in REMINDER_NIGHTS:
        sweep.run(datetime.combine(night, datetime.min.time(), UTC), since=night)
    write_filler(filler_seats)
    m.SweepCursor(
        sweep.CURSOR_PK, sweep.CURSOR_SK, last_done_day="2027-03-01", updated_at=clock.iso(clock.now())
    ).save()
    with counting() as calls:
        began = time.perf_counter()
        result = sweep.run(EXPIRE_NIGHT)
        seconds = time.perf_counter() - began
    due_seats = due_purchases * seats_each
    if (result.due, result.expired, result.failed) != (due_purchases, due_seats, 0):
        raise AssertionError(f"the sweep did not expire exactly the due seats: {result.as_dict()}")
    return SweepFigures(
        due_seats, due_purchases, due_seats + filler_seats, list(calls.names), calls.items_read, seconds
    )


def sweep_within_target(figures: SweepFigures) -> bool:
    """Items read within 10% of the due count (one due-index item per due purchase, plus the cursor, fits)."""
    return figures.items_read <= math.ceil(1.1 * figures.due_seats) and "Scan" not in figures.calls


# ---- write units per action, at 3 seats and at 1000 ------------------------------------------------------

UNIT_ACTIONS = ("invite", "accept", "revoke", "decline", "resend", "claim")
UNIT_RATIO_TARGET = 1.25  # each action at 1000 seats within 1.25x of the same action at 3


def write_units_at(quantity: int) -> dict[str, int]:
    """Write units of each seat action on a purchase of `quantity` seats, all but the last 3 already invited.

    The Given state (uncounted) is a purchase whose other seats are all handed out, so that any
    part of an item that grew with the quantity would show; each action then goes through its
    real handler and is metered alone (tests/support/ddb_units.py).
    """
    from tests.support.ddb_units import metering

    buyer = f"units-{quantity}"
    who = g.who(buyer, f"{buyer}@example.com")
    pid = factories.paid_purchase(buyer_sub=buyer, buyer_email=f"{buyer}@example.com", quantity=quantity)
    rows = [{"email": f"filler-{i}@example.com"} for i in range(quantity - 3)]
    if rows:
        _ok("fill", *g.invite(pid, rows=rows, as_=who))
        clock.freeze(clock.now() + timedelta(days=1))  # the fill used the day's invitations (rule 13)
    out: dict[str, int] = {}

    def metered(action: str, step: Callable[[], tuple[int, Any]]) -> None:
        with metering() as meter:
            status, body = step()
        _ok(f"{action}_{quantity}", status, body)
        out[f"{action}_{quantity}"] = meter.write_units

    first, second = quantity - 2, quantity - 1
    metered("invite", lambda: g.invite(pid, "a@example.com", as_=who))
    metered("accept", lambda: g.accept(g.link(pid, f"{first:04d}"), g.who(f"{buyer}-a", "a@example.com")))
    _ok("invite b", *g.invite(pid, "b@example.com", as_=who))
    metered("decline", lambda: g.decline(g.link(pid, f"{second:04d}")))
    # a seat given back waits behind the fresh ones (FREE# markers): act on the seat each invite got
    c_seat = _invited_seat("invite c", g.invite(pid, "c@example.com", as_=who))
    metered("revoke", lambda: g.seat_action(pid, c_seat, "revoke", as_=who))
    d_seat = _invited_seat("invite d", g.invite(pid, "d@example.com", as_=who))
    clock.freeze(clock.now() + timedelta(minutes=10))  # past the resend spacing
    metered("resend", lambda: g.seat_action(pid, d_seat, "resend", as_=who))
    metered("claim", lambda: g.claim(pid, as_=who))
    return out


def _invited_seat(key: str, answer: tuple[int, Any]) -> str:
    _ok(key, *answer)
    return str(answer[1]["seats"][0]["seat_id"])


def write_unit_ratios(figures: dict[str, int], large: int = 1000) -> dict[str, float]:
    return {a: round(figures[f"{a}_{large}"] / figures[f"{a}_3"], 2) for a in UNIT_ACTIONS}


# ---- a list of 1000 invitations -------------------------------------------------------------------------


def invite_list(measured: Measured, size: int = 1000) -> None:
    """`invite_list_<size>`: one request of `size` rows with an Idempotency-Key, all invited."""
    buyer = f"lists-{size}"
    who = g.who(buyer, f"{buyer}@example.com")
    pid = factories.paid_purchase(buyer_sub=buyer, buyer_email=f"{buyer}@example.com", quantity=size)
    request = http_event(
        "POST",
        f"/purchases/{pid}/invitations",
        route="/purchases/{purchase_id}/invitations",
        body={"invitations": [{"email": f"l{i}@example.com"} for i in range(size)]},
        claims=who,
        path_params={"purchase_id": pid},
        headers={"Idempotency-Key": f"bench-{size}"},
    )
    body = _counted(f"invite_list_{size}", measured, lambda: call("purchases_api", request))
    if len(body.get("seats") or []) != size:
        raise AssertionError(f"invite_list_{size} invited {len(body.get('seats') or [])} seats")


# ---- closing a large purchase: a full refund, a lost dispute ---------------------------------------------


def refund(measured: Measured, size: int = 1000, handed_out: int = 100) -> None:
    """`refund_<size>`: the full refund of a `size`-seat purchase with `handed_out` seats invited, to the end.

    Counted from the webhook's delivery to the purchase's settlement. Outside Lambda
    `giftplans.closing` runs the background's part in the request (deployed it is the sweep
    function, invoked asynchronously), so one count covers both: the webhook's lookup, purchase
    read and job write, then one Query and a transaction per 25 seats (the last with the settlement).
    """
    from giftplans.store import get_store

    from tests.support.upgrade_steps import charge_refunded

    buyer = f"refunds-{size}"
    who = g.who(buyer, f"{buyer}@example.com")
    pid = factories.paid_purchase(buyer_sub=buyer, buyer_email=f"{buyer}@example.com", quantity=size)
    if handed_out:
        rows = [{"email": f"refund-{i}@example.com"} for i in range(handed_out)]
        _ok("refund fill", *g.invite(pid, rows=rows, as_=who))
    request = signed_webhook_request(charge_refunded(pid))
    body = _counted(f"refund_{size}", measured, lambda: call("stripe_webhook", request))
    purchase = get_store().purchase(pid)
    if purchase is None or purchase.status != "refunded":
        raise AssertionError(f"refund_{size} did not refund the purchase: {body}")


def expire(measured: Measured, size: int = 1000, handed_out: int = 100, accepted: int = 5) -> None:
    """`expire_<size>`: the sweep's expiry of one `size`-seat purchase (`sweep.handle`, counted alone).

    `handed_out` seats invited, `accepted` of them accepted. The night's own reads (the cursor,
    one Query per due shard) are shared by every purchase due that night and not counted here.
    """
    from giftplans import sweep
    from giftplans.store import get_store

    buyer = f"expiry-{size}"
    who = g.who(buyer, f"{buyer}@example.com")
    pid = factories.paid_purchase(buyer_sub=buyer, buyer_email=f"{buyer}@example.com", quantity=size)
    if handed_out:
        rows = [{"email": f"expiry-{i}@example.com"} for i in range(handed_out)]
        _ok("expiry fill", *g.invite(pid, rows=rows, as_=who))
    for n in range(1, accepted + 1):
        _ok(
            "expiry accept",
            *g.accept(g.link(pid, f"{n:04d}"), g.who(f"{buyer}-{n}", f"expiry-{n - 1}@example.com")),
        )
    purchase = get_store().purchase(pid)
    assert purchase is not None
    result = sweep.SweepResult()
    with counting() as calls:
        sweep.handle(purchase, EXPIRE_NIGHT, result)
    measured.record(f"expire_{size}", calls)
    if result.expired != size:
        raise AssertionError(f"expire_{size} expired {result.expired} seats, not {size}")
