"""The account's own subscription: Stripe customer.subscription.* -> the entitlement (out-of-order safe)."""

from __future__ import annotations

from typing import Any

import pytest
from giftplans import clock as real_clock
from giftplans import terms, webhooks
from giftplans.store import keys as k
from giftplans.store import models as m

from tests.support import gifts as g

ANN = g.who("ann-sub", "ann@example.com")
PERIOD_END = 1_800_000_000  # 2027-01-15T08:00:00Z


def sub_event(
    kind: str,
    *,
    created: int,
    status: str = "active",
    price: str = "price_pro_yearly",
    cancel_at_period_end: bool = False,
    metadata: dict[str, str] | None = None,
    item_level: bool = True,
    subscription_id: str = "sub_1",
) -> dict[str, Any]:
    item: dict[str, Any] = {"id": "si_1", "price": {"id": price}}
    obj: dict[str, Any] = {
        "id": subscription_id,
        "object": "subscription",
        "customer": "cus_1",
        "status": status,
        "cancel_at_period_end": cancel_at_period_end,
        "metadata": {"account_id": "ann-sub"} if metadata is None else metadata,
        "items": {"data": [item]},
    }
    if item_level:
        item["current_period_end"] = PERIOD_END
    else:
        obj["current_period_end"] = PERIOD_END
    return {
        "id": f"evt_{kind}_{created}",
        "type": f"customer.subscription.{kind}",
        "created": created,
        "data": {"object": obj},
    }


@pytest.fixture
def t0(aws: None, clock: object) -> int:
    return real_clock.epoch(real_clock.now())


def test_given_subscription_created_when_handled_then_active_renewing_subscription_entitlement(
    t0: int,
) -> None:
    webhooks.handle(sub_event("created", created=t0))
    assert g.entitlement(ANN)[1] == {
        "active": True,
        "plan": "pro",
        "source": "subscription",
        "term_end": real_clock.iso(real_clock.from_epoch(PERIOD_END)),
        "auto_renew": True,
        "grace_until": real_clock.iso(real_clock.from_epoch(PERIOD_END + 3 * 86400)),  # SPEC 8.8
        "days_left": terms.days_left(real_clock.from_epoch(PERIOD_END), real_clock.now()),
        "gift_from": None,
        "first_charge": None,
    }


def test_given_older_api_with_top_level_period_end_when_handled_then_term_end_is_read(t0: int) -> None:
    webhooks.handle(sub_event("created", created=t0, item_level=False))
    assert g.entitlement(ANN)[1]["term_end"] == real_clock.iso(real_clock.from_epoch(PERIOD_END))


def test_given_cancel_at_period_end_when_updated_then_active_but_not_renewing(t0: int) -> None:
    webhooks.handle(sub_event("created", created=t0))
    webhooks.handle(sub_event("updated", created=t0 + 5, cancel_at_period_end=True))
    body = g.entitlement(ANN)[1]
    assert (body["active"], body["auto_renew"]) == (True, False)


def test_given_deleted_when_handled_then_inactive(t0: int) -> None:
    webhooks.handle(sub_event("created", created=t0))
    webhooks.handle(sub_event("deleted", created=t0 + 5, status="canceled"))
    assert g.entitlement(ANN)[1]["active"] is False


def test_given_past_due_when_updated_then_inactive(t0: int) -> None:
    webhooks.handle(sub_event("created", created=t0))
    webhooks.handle(sub_event("updated", created=t0 + 5, status="past_due"))
    assert g.entitlement(ANN)[1]["active"] is False


def test_given_deleted_then_an_older_update_arrives_late_when_handled_then_it_stays_ended(t0: int) -> None:
    webhooks.handle(sub_event("created", created=t0))
    webhooks.handle(sub_event("deleted", created=t0 + 10, status="canceled"))
    webhooks.handle(sub_event("updated", created=t0 + 5))
    assert g.entitlement(ANN)[1]["active"] is False


def test_given_customer_learnt_from_metadata_when_a_later_event_lacks_it_then_the_lookup_maps_it(
    t0: int,
) -> None:
    webhooks.handle(sub_event("created", created=t0))
    webhooks.handle(sub_event("updated", created=t0 + 5, metadata={}, price="price_team_yearly"))
    assert g.entitlement(ANN)[1]["plan"] == "team"


def test_given_unknown_customer_and_no_metadata_when_handled_then_nothing_written(t0: int) -> None:
    webhooks.handle(sub_event("created", created=t0, metadata={}))
    assert g.entitlement(ANN)[1]["active"] is False


def test_given_price_not_ours_when_handled_then_ignored(t0: int) -> None:
    webhooks.handle(sub_event("created", created=t0, price="price_someone_else"))
    assert g.entitlement(ANN)[1]["plan"] is None


def test_given_gift_plan_when_another_subscriptions_delete_arrives_then_the_gift_stays(t0: int) -> None:
    m.Entitlement(
        k.account_pk("ann-sub"),
        k.ENTITLEMENT_SK,
        sub="ann-sub",
        plan="pro",
        source="gift",
        term_end="2027-03-01T12:00:00Z",
        term_end_ts=t0 + 86400 * 300,
        updated_at="x",
    ).save()
    webhooks.handle(sub_event("deleted", created=t0, status="canceled", subscription_id="sub_other"))
    body = g.entitlement(ANN)[1]
    assert (body["active"], body["source"]) == (True, "gift")


def test_given_deleted_arrives_before_created_when_created_arrives_late_then_it_stays_ended(t0: int) -> None:
    webhooks.handle(sub_event("deleted", created=t0 + 10, status="canceled"))

    webhooks.handle(sub_event("created", created=t0))

    assert g.entitlement(ANN)[1]["active"] is False


def test_given_ended_gift_when_deleted_arrives_before_created_then_it_stays_ended(t0: int) -> None:
    m.Entitlement(
        k.account_pk("ann-sub"),
        k.ENTITLEMENT_SK,
        sub="ann-sub",
        plan="pro",
        source="gift",
        term_end="2026-01-01T00:00:00Z",
        term_end_ts=t0 - 86400,
        ended=True,
        updated_at="x",
    ).save()
    webhooks.handle(sub_event("deleted", created=t0 + 10, status="canceled"))

    webhooks.handle(sub_event("created", created=t0))

    assert g.entitlement(ANN)[1]["active"] is False
