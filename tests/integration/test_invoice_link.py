"""SPEC 8.6: a gift purchase gets its `invoice_url` when Stripe makes the invoice after the checkout.

`invoice.finalized` / `invoice.paid` of a gift checkout's invoice set the link once, in any
order with the session's own event; `GET /purchases` (the buyer index) reads as the detail.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from giftplans import settings, webhooks
from giftplans.purchases import purchase_id_for
from giftplans.purchases.invoices import PurchaseNotRecorded
from giftplans.store import get_store

from tests.support.apigw import call, claims, http_event
from tests.support.stripe_fake import FakeStripe

pytestmark = pytest.mark.usefixtures("aws", "clock")

BUYER = claims("buyer-1", "buyer@example.com")


def paid_checkout(stripe: FakeStripe, quantity: int = 2) -> tuple[str, list[dict[str, Any]]]:
    status, body = call(
        "checkout",
        http_event("POST", "/checkout/sessions", body={"plan": "pro", "quantity": quantity}, claims=BUYER),
    )
    assert status == 201, body
    return body["session_id"], stripe.stripe.complete(body["session_id"])


def by_type(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {event["type"]: event for event in events}


def changed(event: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A copy of the Stripe `event` whose object has `fields` set (the original stays as Stripe sent it)."""
    copied = copy.deepcopy(event)
    copied["data"]["object"].update(fields)
    return copied


def checkout_without_invoice(stripe: FakeStripe) -> tuple[str, dict[str, dict[str, Any]], dict[str, Any]]:
    """A paid gift checkout's events by type, and its session event naming no invoice
    (Stripe made the invoice after the session closed)."""
    session_id, events = paid_checkout(stripe)
    found = by_type(events)
    return session_id, found, changed(found["checkout.session.completed"], invoice=None)


def test_given_a_gift_checkout_when_the_local_stripe_completes_it_then_it_sends_the_invoice_events(
    stripe_stub: FakeStripe,
) -> None:
    _, events = paid_checkout(stripe_stub)
    types = [event["type"] for event in events]
    assert types == ["checkout.session.completed", "invoice.finalized", "invoice.paid"]
    invoice = events[-1]["data"]["object"]
    assert invoice["metadata"]["kind"] == "gift" and invoice["hosted_invoice_url"]
    assert "payments" not in invoice  # Stripe includes them only when asked (expand[]=payments)


def test_given_the_session_named_no_invoice_when_invoice_paid_arrives_then_the_purchase_gets_its_link(
    stripe_stub: FakeStripe,
) -> None:
    session_id, found, completed = checkout_without_invoice(stripe_stub)
    webhooks.handle(completed)
    purchase = get_store().purchase(purchase_id_for(session_id))
    assert purchase is not None and purchase.invoice_url is None

    result = webhooks.handle(found["invoice.paid"])

    invoice = found["invoice.paid"]["data"]["object"]
    purchase = get_store().purchase(purchase_id_for(session_id))
    assert purchase is not None
    assert (purchase.invoice_id, purchase.invoice_url) == (invoice["id"], invoice["hosted_invoice_url"])
    assert result == f"invoice {purchase.purchase_id}"
    # The purchase was found through the invoice's payment: one read of the invoice, payments expanded.
    [read] = stripe_stub.to(f"/v1/invoices/{invoice['id']}")
    assert read.form == {"expand[0]": "payments"}


def test_given_an_invoice_event_before_the_session_when_handled_then_503_and_the_retry_links_it(
    stripe_stub: FakeStripe,
) -> None:
    session_id, found, completed = checkout_without_invoice(stripe_stub)

    with pytest.raises(PurchaseNotRecorded) as refused:
        webhooks.handle(found["invoice.finalized"])  # it outran the session's event
    assert refused.value.status == 503  # Stripe delivers it again
    assert get_store().purchase(purchase_id_for(session_id)) is None

    webhooks.handle(completed)
    webhooks.handle(found["invoice.finalized"])  # Stripe's retry

    purchase = get_store().purchase(purchase_id_for(session_id))
    assert purchase is not None
    assert purchase.invoice_url == found["invoice.finalized"]["data"]["object"]["hosted_invoice_url"]


def test_given_the_link_is_set_when_the_events_come_again_in_any_order_then_nothing_changes(
    stripe_stub: FakeStripe,
) -> None:
    session_id, events = paid_checkout(stripe_stub)
    for event in events:
        webhooks.handle(event)
    before = get_store().purchase(purchase_id_for(session_id))
    assert before is not None and before.invoice_url

    for event in reversed(events):
        webhooks.handle(event)

    after = get_store().purchase(purchase_id_for(session_id))
    assert after is not None
    assert (after.invoice_url, after.version) == (before.invoice_url, before.version)


def test_given_an_invoice_event_naming_its_payment_when_handled_then_no_stripe_read_is_needed(
    stripe_stub: FakeStripe,
) -> None:
    session_id, found, completed = checkout_without_invoice(stripe_stub)
    webhooks.handle(completed)
    intent = completed["data"]["object"]["payment_intent"]
    paid = changed(found["invoice.paid"], payments={"data": [{"payment": {"payment_intent": intent}}]})
    before = len(stripe_stub.requests)

    webhooks.handle(paid)

    purchase = get_store().purchase(purchase_id_for(session_id))
    assert purchase is not None and purchase.invoice_url == paid["data"]["object"]["hosted_invoice_url"]
    assert len(stripe_stub.requests) == before


@pytest.mark.parametrize(
    "change",
    [
        {"metadata": {}},  # not a gift checkout's invoice
        {"metadata": {"kind": "renewal"}},
        {"subscription": "sub_1"},  # a subscription's invoice
    ],
)
def test_given_an_invoice_that_is_not_a_gift_checkouts_when_handled_then_ignored(
    stripe_stub: FakeStripe, change: dict[str, Any]
) -> None:
    _, events = paid_checkout(stripe_stub)
    paid = changed(by_type(events)["invoice.paid"], **change)
    assert webhooks.handle(paid) == "ignored"


def test_given_an_invoice_without_a_page_when_handled_then_nothing_is_written(
    stripe_stub: FakeStripe,
) -> None:
    session_id, found, completed = checkout_without_invoice(stripe_stub)
    webhooks.handle(completed)
    draft = changed(found["invoice.finalized"], hosted_invoice_url=None)

    assert webhooks.handle(draft).startswith("ignored")
    purchase = get_store().purchase(purchase_id_for(session_id))
    assert purchase is not None and purchase.invoice_url is None


def test_given_a_taxed_purchase_with_an_invoice_when_listed_then_the_list_reads_as_the_detail(
    stripe_stub: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOMATIC_TAX", "true")
    settings.get.cache_clear()
    session_id, events = paid_checkout(stripe_stub, quantity=3)
    for event in events:
        webhooks.handle(event)

    status, listed = call("purchases_api", http_event("GET", "/purchases", claims=BUYER))
    assert status == 200
    [row] = listed["purchases"]
    status, detail = call(
        "purchases_api", http_event("GET", f"/purchases/{purchase_id_for(session_id)}", claims=BUYER)
    )
    assert status == 200
    shown = detail["purchase"]
    assert (row["amount_tax"], row["invoice_url"], row["amount_refunded"]) == (
        shown["amount_tax"],
        shown["invoice_url"],
        shown["amount_refunded"],
    )
    assert row["amount_tax"] == 7200 and row["invoice_url"].endswith(
        by_type(events)["invoice.paid"]["data"]["object"]["id"]
    )


@pytest.mark.parametrize(
    "shape",
    [
        {"payments": 5},
        {"payments": "pi_x"},
        {"payments": {"data": 7}},
        {"payments": {"data": ["x", None, {"payment": "pi_x"}]}},
        {"hosted_invoice_url": 12},
        {"id": None},
        {"metadata": "gift"},
    ],
)
def test_given_a_gift_invoice_of_a_strange_shape_when_handled_then_ignored_or_retried_never_a_crash(
    stripe_stub: FakeStripe, shape: dict[str, Any]
) -> None:
    from giftplans.errors import DomainError

    invoice: dict[str, Any] = {"id": "in_strange", "object": "invoice", "metadata": {"kind": "gift"}}
    invoice.update(shape)
    event = {"id": "evt_strange", "type": "invoice.paid", "created": 1, "data": {"object": invoice}}
    try:
        result = webhooks.handle(event)
    except DomainError as retry:  # not recorded yet, or Stripe does not know the invoice: Stripe retries
        assert retry.status == 503
    else:
        assert result.startswith("ignored")
