"""Typed settings, read once from the environment at cold start.

Plans and prices are configuration (`PLANS`, JSON), never constants in handlers:

    {"connect": {"rank": 1, "amount": 12000, "currency": "usd",
                 "price_id": "price_...", "recurring_price_id": "price_..."}, ...}

`price_id` is the one-time yearly Price used for gift purchases; `recurring_price_id`
is the yearly subscription Price a recipient upgrades or renews to.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import NamedTuple

DEFAULT_PLANS: dict[str, dict[str, str | int]] = {
    "connect": {
        "rank": 1,
        "amount": 12000,
        "currency": "usd",
        "price_id": "price_connect_yearly_gift",
        "recurring_price_id": "price_connect_yearly",
    },
    "pro": {
        "rank": 2,
        "amount": 24000,
        "currency": "usd",
        "price_id": "price_pro_yearly_gift",
        "recurring_price_id": "price_pro_yearly",
    },
    "team": {
        "rank": 3,
        "amount": 48000,
        "currency": "usd",
        "price_id": "price_team_yearly_gift",
        "recurring_price_id": "price_team_yearly",
    },
}


class Plan(NamedTuple):
    name: str
    rank: int
    amount: int
    currency: str
    price_id: str
    recurring_price_id: str


class Settings(NamedTuple):
    """Immutable, like `giftplans.views`' results (a NamedTuple: cheaper to define than a dataclass)."""

    table_name: str
    plans: dict[str, Plan]
    # Gift prices no longer in `plans` (retired, or replaced), each -> the plan it still grants, so a
    # Checkout Session opened before a price change is fulfilled (issue 14). `RETIRED_PRICES`, JSON.
    retired_prices: dict[str, str]
    max_quantity: int = 1000
    daily_invite_limit: int = 200
    resend_limit: int = 5
    resend_interval_minutes: int = 10
    quote_valid_minutes: int = 30
    due_shards: int = 8
    sweep_backfill_days: int = 31  # with no sweep cursor yet, the first run starts this many days back
    erase_after_days: int = (
        90  # recipients' addresses of an ended purchase are erased this long after term_end
    )
    web_base_url: str = "http://127.0.0.1:3000"
    checkout_success_url: str = "http://127.0.0.1:3000/billing?session_id={CHECKOUT_SESSION_ID}"
    checkout_cancel_url: str = "http://127.0.0.1:3000/"
    # Upgrades and renewals start on My plan and come back there (SPEC 8.8; issue 17 item 6).
    plan_success_url: str = "http://127.0.0.1:3000/plan?checkout=done&session_id={CHECKOUT_SESSION_ID}"
    plan_cancel_url: str = "http://127.0.0.1:3000/plan?checkout=cancelled"
    collect_tax_ids: bool = False  # SPEC 8.6: gift checkouts collect tax ids
    automatic_tax: bool = False  # SPEC 8.6: gift checkouts use Stripe Tax
    mail_from: str = "gifts@example.com"
    event_bus_name: str = "default"
    service_name: str = "gift-plans"
    stripe_webhook_tolerance_s: int = 300
    grace_days: int = 3  # SPEC 8.8: a renewing subscription stays active this long past its period end

    def plan(self, name: str) -> Plan | None:
        return self.plans.get(name)

    def known_plan(self, name: str) -> Plan:
        """The plan called `name`, or a 422 that lists the plans there are."""
        plan = self.plans.get(name)
        if plan is None:
            from giftplans.errors import Invalid

            names = ", ".join(sorted(self.plans))
            raise Invalid(f"There is no plan called '{name}'; choose one of: {names}.", code="unknown_plan")
        return plan

    def plan_by_price(self, price_id: str) -> Plan | None:
        for plan in self.plans.values():
            if price_id in (plan.price_id, plan.recurring_price_id):
                return plan
        retired = self.retired_prices.get(price_id)
        return self.plans.get(retired) if retired else None

    def accept_url(self, token: str) -> str:
        return f"{self.web_base_url}/accept?token={token}"

    def billing_url(self) -> str:
        return f"{self.web_base_url}/billing"

    def verify_url(self, token: str) -> str:
        return f"{self.web_base_url}/verify?token={token}"

    def renew_url(self) -> str:
        return f"{self.web_base_url}/plan"


def _plans(raw: str | None) -> dict[str, Plan]:
    data = json.loads(raw) if raw else DEFAULT_PLANS
    return {
        name: Plan(
            name=name,
            rank=int(p["rank"]),
            amount=int(p["amount"]),
            currency=str(p["currency"]),
            price_id=str(p["price_id"]),
            recurring_price_id=str(p["recurring_price_id"]),
        )
        for name, p in data.items()
    }


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


@cache
def get() -> Settings:
    """The settings of this process (cached; `get.cache_clear()` in tests)."""
    env = os.environ
    web = env.get("WEB_BASE_URL", "http://127.0.0.1:3000").rstrip("/")
    return Settings(
        table_name=env.get("TABLE_NAME", "gift-plans"),
        plans=_plans(env.get("PLANS")),
        max_quantity=_int("MAX_QUANTITY", 1000),
        daily_invite_limit=_int("DAILY_INVITE_LIMIT", 200),
        due_shards=_int("DUE_SHARDS", 8),
        grace_days=_int("GRACE_DAYS", 3),
        sweep_backfill_days=_int("SWEEP_BACKFILL_DAYS", 31),
        erase_after_days=max(2, _int("ERASE_AFTER_DAYS", 90)),  # after the expiry day, never on it
        web_base_url=web,
        checkout_success_url=env.get(
            "CHECKOUT_SUCCESS_URL", f"{web}/billing?session_id={{CHECKOUT_SESSION_ID}}"
        ),
        checkout_cancel_url=env.get("CHECKOUT_CANCEL_URL", f"{web}/"),
        plan_success_url=env.get(
            "PLAN_SUCCESS_URL", f"{web}/plan?checkout=done&session_id={{CHECKOUT_SESSION_ID}}"
        ),
        plan_cancel_url=env.get("PLAN_CANCEL_URL", f"{web}/plan?checkout=cancelled"),
        collect_tax_ids=env.get("COLLECT_TAX_IDS", "false").lower() == "true",
        automatic_tax=env.get("AUTOMATIC_TAX", "false").lower() == "true",
        mail_from=env.get("MAIL_FROM", "gifts@example.com"),
        event_bus_name=env.get("EVENT_BUS_NAME", "default"),
        service_name=env.get("POWERTOOLS_SERVICE_NAME", "gift-plans"),
        retired_prices={str(k): str(v) for k, v in json.loads(env.get("RETIRED_PRICES") or "{}").items()},
    )
