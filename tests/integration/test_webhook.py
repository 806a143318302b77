"""POST /webhooks/stripe: signature first, then fulfilment that is idempotent, order-free and crash-safe."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import boto3
import pytest
from giftplans import purchases
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.table import Store

from tests.conftest import TEST_TABLE
from tests.support import gifts as g
from tests.support import stripe_events as se
from tests.support.apigw import call

pytestmark = pytest.mark.usefixtures("aws", "clock")


def table_count() -> int:
    client = boto3.client("dynamodb")
    total, kwargs = 0, dict[str, Any](TableName=TEST_TABLE, Select="COUNT")
    while True:
        page = client.scan(**kwargs)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def deliver(evt: dict[str, Any] | None, **kwargs: Any) -> tuple[int, Any]:
    return call("stripe_webhook", se.webhook_request(evt, **kwargs))


def seats_of(purchase_id: str) -> list[m.Seat]:
    items = m.Item.query(k.purchase_pk(purchase_id), m.Item.SK.startswith("SEAT#"), consistent_read=True)
    return [i for i in items if isinstance(i, m.Seat)]


def stored(evt: dict[str, Any]) -> m.Purchase:
    purchase = get_store().purchase(purchases.purchase_id_for(evt["data"]["object"]["id"]))
    assert purchase is not None
    return purchase


# ---- signature ----------------------------------------------------------------------------------------


def test_given_wrong_secret_when_delivered_then_400_and_nothing_written() -> None:
    evt = se.checkout_completed()
    status, body = deliver(evt, secret="whsec_someone_else")
    assert status == 400
    assert body["error"]["code"] == "invalid_signature"
    assert table_count() == 0


def test_given_tampered_body_when_delivered_then_400_and_nothing_written() -> None:
    evt = se.checkout_completed(quantity=2)
    header = se.sign(se.body(evt))
    evt["data"]["object"]["metadata"]["quantity"] = "200"
    status, _ = deliver(evt, signature=header)
    assert status == 400
    assert table_count() == 0


def test_given_timestamp_older_than_five_minutes_when_delivered_then_400_and_nothing_written() -> None:
    evt = se.checkout_completed()
    stale = int(time.time()) - 301  # Stripe signs with real time, so staleness is the wall clock's
    status, body = deliver(evt, t=stale)
    assert status == 400
    assert body["error"]["code"] == "invalid_signature"
    assert table_count() == 0


def test_given_the_service_clock_moved_when_signed_with_real_time_then_200(clock: Any) -> None:
    clock.advance(days=400)  # the test clock: signatures must not follow it (SPEC 9, `stripe listen`)
    evt = se.checkout_completed(quantity=1)
    status, _ = deliver(evt, t=int(time.time()) - 299)
    assert status == 200
    assert stored(evt).status == "paid"


def test_given_the_service_clock_moved_when_signed_with_the_moved_time_then_400(clock: Any) -> None:
    clock.advance(days=400)
    evt = se.checkout_completed(quantity=1)
    status, body = deliver(evt, t=int(clock.now.timestamp()))
    assert status == 400
    assert body["error"]["code"] == "invalid_signature"
    assert table_count() == 0


@pytest.mark.parametrize("header", [None, "", "garbage", "t=abc,v1=00", "v1=deadbeef", "t=1772366400"])
def test_given_missing_or_malformed_signature_when_delivered_then_400_and_nothing_written(
    header: str | None,
) -> None:
    status, body = deliver(se.checkout_completed(), signature=header)
    assert status == 400
    assert set(body["error"]) >= {"code", "message"}
    assert table_count() == 0


def test_given_one_of_several_v1_signatures_matches_when_delivered_then_200() -> None:
    evt = se.checkout_completed(quantity=1)
    good = se.sign(se.body(evt))
    t, v1 = good.split(",")
    status, _ = deliver(evt, signature=f"{t},v1={'0' * 64},{v1},v0=legacy")
    assert status == 200


def test_given_signed_body_that_is_not_json_when_delivered_then_400() -> None:
    status, body = deliver(None, payload=b"not json at all")
    assert status == 400
    assert body["error"]["code"] == "malformed_json"
    assert table_count() == 0


def test_given_body_over_256_kb_when_delivered_then_413() -> None:
    status, body = deliver(None, payload=b"{" + b" " * (256 * 1024) + b"}")
    assert status == 413
    assert body["error"]["code"] == "payload_too_large"


def test_given_base64_encoded_body_when_delivered_then_verified_on_the_decoded_bytes() -> None:
    evt = se.checkout_completed(quantity=1)
    raw = se.body(evt)
    request = se.webhook_request(payload=raw)
    request["body"] = base64.b64encode(raw).decode()
    request["isBase64Encoded"] = True
    status, _ = call("stripe_webhook", request)
    assert status == 200
    assert stored(evt).status == "paid"


# ---- fulfilment ---------------------------------------------------------------------------------------


def test_given_paid_checkout_when_completed_then_purchase_paid_with_quantity_available_seats(
    clock: Any,
) -> None:
    evt = se.checkout_completed(quantity=3, unit_amount=24000, discount=3000, tax=500)
    status, body = deliver(evt)
    assert status == 200
    assert body["received"] is True
    purchase = stored(evt)
    assert (purchase.status, purchase.quantity, purchase.plan) == ("paid", 3, "pro")
    assert purchase.amount_subtotal == 72000 - 3000  # after discounts, before tax
    assert purchase.amount_total == 72000 - 3000 + 500
    assert purchase.term_start == "2026-03-01T12:00:00Z"
    assert purchase.term_end == "2027-03-01T12:00:00Z"
    assert purchase.seat_counts.as_dict()["available"] == 3
    seats = seats_of(purchase.purchase_id)
    assert [s.state for s in seats] == ["available"] * 3
    assert sorted(int(s.seat_value) for s in seats) == [23000, 23000, 23000]


def test_given_term_start_when_event_created_earlier_then_term_starts_at_event_created(clock: Any) -> None:
    created = int(clock.now.timestamp()) - 3600
    evt = se.checkout_completed(quantity=1, created=created)
    deliver(evt)
    assert stored(evt).term_start == "2026-03-01T11:00:00Z"


def test_given_same_event_delivered_five_times_then_one_purchase_with_n_seats() -> None:
    evt = se.checkout_completed(quantity=4)
    results = [deliver(evt) for _ in range(5)]
    assert [status for status, _ in results] == [200] * 5
    purchase = stored(evt)
    assert len(seats_of(purchase.purchase_id)) == 4
    assert purchase.seat_counts.as_dict()["available"] == 4
    profile = m.Profile.get(k.account_pk("buyer-1"), k.PROFILE_SK)
    assert profile.plans_bought == 4  # counted once
    assert len(list(m.Item.buyer_index.query(k.buyer_gsi("buyer-1")))) == 1


def test_given_unpaid_completion_when_delivered_then_pending_payment_with_seats() -> None:
    evt = se.checkout_completed(payment_status="unpaid", quantity=2)
    deliver(evt)
    purchase = stored(evt)
    assert purchase.status == "pending_payment"
    assert len(seats_of(purchase.purchase_id)) == 2


def test_given_pending_purchase_when_async_succeeded_then_paid() -> None:
    completed = se.checkout_completed(payment_status="unpaid", quantity=2)
    deliver(completed)
    status, _ = deliver(se.async_succeeded(completed["data"]["object"]))
    assert status == 200
    assert stored(completed).status == "paid"


def test_given_async_succeeded_arrives_before_completed_then_ends_paid(clock: Any) -> None:
    completed = se.checkout_completed(payment_status="unpaid", quantity=2)
    succeeded = se.async_succeeded(completed["data"]["object"])
    assert deliver(succeeded)[0] == 200
    assert deliver(completed)[0] == 200
    purchase = stored(completed)
    assert purchase.status == "paid"
    assert len(seats_of(purchase.purchase_id)) == 2
    assert m.Profile.get(k.account_pk("buyer-1"), k.PROFILE_SK).plans_bought == 2


def test_given_pending_purchase_when_async_failed_then_payment_failed_and_replays_change_nothing() -> None:
    completed = se.checkout_completed(payment_status="unpaid", quantity=1)
    deliver(completed)
    deliver(se.async_failed(completed["data"]["object"]))
    assert stored(completed).status == "payment_failed"
    deliver(completed)
    assert stored(completed).status == "payment_failed"


def test_given_no_payment_required_when_completed_then_paid() -> None:
    evt = se.checkout_completed(payment_status="no_payment_required", quantity=1, discount=24000)
    deliver(evt)
    purchase = stored(evt)
    assert purchase.status == "paid"
    assert purchase.amount_subtotal == 0


def test_given_failure_after_some_seat_chunks_when_stripe_retries_then_exactly_n_seats(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    quantity = 250  # chunks: 96 with the purchase, then 99, then 55
    evt = se.checkout_completed(quantity=quantity)
    real = Store.write
    calls = {"n": 0}

    def flaky(self: Store, build: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("Lambda died mid-fulfilment")
        return real(self, build)

    monkeypatch.setattr(Store, "write", flaky)
    with pytest.raises(RuntimeError):
        deliver(evt)  # an unexpected crash is re-raised: API Gateway answers 500 and Stripe retries
    partial = stored(evt)
    assert len(seats_of(partial.purchase_id)) == 96 + 99
    monkeypatch.setattr(Store, "write", real)

    status, _ = deliver(evt)
    assert status == 200
    purchase = stored(evt)
    seats = seats_of(purchase.purchase_id)
    assert len(seats) == quantity
    assert sorted(s.seat_id for s in seats) == [f"{n:04d}" for n in range(1, quantity + 1)]
    assert purchase.seat_counts.as_dict()["available"] == quantity
    assert g.free_numbers(purchase.purchase_id) == set(range(1, quantity + 1))
    assert purchase.seats_written == quantity
    assert sum(int(s.seat_value) for s in seats) == purchase.amount_subtotal


def test_given_1000_seat_purchase_when_completed_then_1000_seats_and_counts() -> None:
    evt = se.checkout_completed(quantity=1000, unit_amount=12000, plan="connect", discount=7)
    status, _ = deliver(evt)
    assert status == 200
    purchase = stored(evt)
    seats = seats_of(purchase.purchase_id)
    assert len(seats) == 1000
    assert len({s.seat_id for s in seats}) == 1000
    assert purchase.seat_counts.as_dict() == {
        "available": 1000,
        "invited": 0,
        "accepted": 0,
        "claimed": 0,
        "upgraded": 0,
        "expired": 0,
        "cancelled": 0,
    }
    assert sum(int(s.seat_value) for s in seats) == 12000 * 1000 - 7


def test_given_dynamodb_busy_when_delivered_then_503_so_stripe_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from giftplans.errors import UpstreamUnavailable

    def busy(*_: Any, **__: Any) -> None:
        raise UpstreamUnavailable("busy")

    monkeypatch.setattr(Store, "write", busy)
    status, body = deliver(se.checkout_completed(quantity=1))
    assert status == 503
    assert body["error"]["code"] == "temporarily_unavailable"


# ---- events that are not ours -------------------------------------------------------------------------

UNRELATED = [
    "account",
    "balance",
    "coupon",
    "customer",
    "invoice",
    "payment_intent",
    "payment_method",
    "payout",
    "plan",
    "price",
    "product",
    "promotion_code",
    "quote",
    "refund",
    "setup_intent",
    "source",
    "tax_rate",
    "topup",
    "transfer",
    "file",
]


@pytest.mark.parametrize("resource", UNRELATED)
def test_given_unrelated_event_type_when_delivered_then_200_and_nothing_written(resource: str) -> None:
    obj = se.resource(resource)
    evt = se.event(f"{resource}.updated", obj)
    status, body = deliver(evt)
    assert status == 200
    assert body == {"received": True, "result": "ignored"}
    assert table_count() == 0


@pytest.mark.parametrize(
    "change",
    [{"metadata": {}}, {"mode": "subscription"}, {"metadata": {"kind": "something_else"}}],
    ids=["no-metadata", "subscription-mode", "other-kind"],
)
def test_given_checkout_session_that_is_not_a_gift_when_completed_then_200_ignored(
    change: dict[str, Any],
) -> None:
    evt = se.checkout_completed(**change)
    status, body = deliver(evt)
    assert status == 200
    assert body["result"] == "ignored"
    assert table_count() == 0


def line_items(price: str, quantity: int) -> dict[str, Any]:
    """The session's line items as Stripe expands them (`expand[]=line_items`)."""
    return {"object": "list", "data": [{"object": "item", "price": {"id": price}, "quantity": quantity}]}


GIFT_META = {"kind": "gift", "buyer_id": "b", "buyer_email": "b@example.com"}


@pytest.mark.parametrize(
    "change",
    [
        {
            "metadata": {**GIFT_META, "plan": "platinum", "quantity": "2"},
            "line_items": line_items("price_x", 2),
        },
        {"metadata": {**GIFT_META, "plan": "pro", "quantity": "0"}},
        {
            "metadata": {**GIFT_META, "plan": "pro", "quantity": "lots"},
            "line_items": {"object": "list", "data": []},
        },
        {
            "metadata": {"kind": "gift", "buyer_email": "b@example.com", "plan": "pro", "quantity": "2"},
            "client_reference_id": None,
        },
        {
            "metadata": {"kind": "gift", "buyer_id": "b", "plan": "pro", "quantity": "2"},
            "customer_email": None,
        },
    ],
    ids=["unknown-plan-and-price", "zero-quantity", "word-quantity", "no-buyer", "no-buyer-email"],
)
def test_given_paid_gift_checkout_that_cannot_be_fulfilled_when_completed_then_503_alarmed_and_listed(
    change: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 14: never 200 without a purchase: 5xx (Stripe retries), an error log, the admin list."""
    from giftplans.observability import metrics
    from giftplans.purchases import attention

    evt = se.checkout_completed(**change)
    if "customer_email" in change:
        evt["data"]["object"]["customer_details"]["email"] = None
    metrics.clear_metrics()

    status, body = deliver(evt)
    again, _ = deliver(evt)  # Stripe's retry

    assert (status, again) == (503, 503), body
    assert body["error"]["code"] == "temporarily_unavailable"
    assert get_store().purchase(purchases.purchase_id_for(evt["data"]["object"]["id"])) is None
    assert "cannot be fulfilled" in caplog.text
    listed = attention.open_items()
    assert [(i["session_id"], i["deliveries"]) for i in listed] == [(evt["data"]["object"]["id"], 2)]
    assert listed[0]["payment_intent"] == evt["data"]["object"]["payment_intent"]


def test_given_unfulfillable_checkout_when_delivered_then_unfulfillable_metric_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from giftplans.observability import metrics

    counted: list[str] = []
    real = metrics.add_metric

    def add_metric(name: str, **kw: Any) -> None:
        counted.append(name)
        real(name=name, **kw)

    monkeypatch.setattr(metrics, "add_metric", add_metric)
    evt = se.checkout_completed(metadata={**GIFT_META, "plan": "pro", "quantity": "0"})

    assert deliver(evt)[0] == 503
    assert "UnfulfillableCheckout" in counted


def test_given_session_for_a_retired_price_when_completed_then_fulfilled_with_the_plan_it_grants(
    monkeypatch: pytest.MonkeyPatch, settings: None
) -> None:
    """A plan renamed or repriced while sessions were open (up to 24 h): the line item's price decides."""
    monkeypatch.setenv("RETIRED_PRICES", '{"price_pro_yearly_gift_2025": "pro"}')
    evt = se.checkout_completed(
        metadata={**GIFT_META, "plan": "pro-2025", "quantity": "2"},
        line_items=line_items("price_pro_yearly_gift_2025", 2),
    )

    status, body = deliver(evt)

    assert status == 200 and body["result"].startswith("paid"), body
    purchase = stored(evt)
    assert (purchase.plan, int(purchase.quantity)) == ("pro", 2)


def test_given_session_above_max_quantity_that_stripe_charged_when_completed_then_fulfilled(
    monkeypatch: pytest.MonkeyPatch, settings: None
) -> None:
    """The limit changed while the session was open: the money was taken, so the seats are made."""
    monkeypatch.setenv("MAX_QUANTITY", "5")
    evt = se.checkout_completed(quantity=6, unit_amount=100)

    status, body = deliver(evt)

    assert status == 200 and body["result"].startswith("paid"), body
    assert int(stored(evt).quantity) == 6 and len(seats_of(stored(evt).purchase_id)) == 6


def test_given_fixture_session_as_stripe_sends_it_when_completed_then_ignored() -> None:
    evt = se.event("checkout.session.completed", se.resource("checkout.session"))
    status, body = deliver(evt)
    assert (status, body["result"]) == (200, "ignored")
    assert table_count() == 0


def test_given_registered_handler_when_event_delivered_then_it_runs() -> None:
    from giftplans import webhooks

    seen: list[str | None] = []

    def custom(e: Any) -> str:
        seen.append(e.id)
        return "custom"

    webhooks.HANDLERS["test.custom"] = custom
    try:
        evt = se.event("test.custom", {"object": "thing"})
        status, body = deliver(evt)
    finally:
        del webhooks.HANDLERS["test.custom"]
    assert (status, body["result"], seen) == (200, "custom", [evt["id"]])
    assert json.loads(json.dumps(body))["received"] is True


def test_given_unfulfillable_checkout_when_its_payment_is_refunded_then_200_not_three_days_of_503(
    stripe: Any,
) -> None:
    evt = se.checkout_completed(metadata={**GIFT_META, "plan": "pro", "quantity": "0"})
    assert deliver(evt)[0] == 503
    charge = se.resource("charge")
    intent = evt["data"]["object"]["payment_intent"]
    charge.update({"payment_intent": intent, "amount": 48000, "amount_refunded": 48000, "refunded": True})

    status, body = deliver(se.event("charge.refunded", charge))

    assert status == 200 and body["result"].startswith("ignored"), body
    assert stripe.requests == []  # the record answered; Stripe was not asked
