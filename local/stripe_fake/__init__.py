"""The one Stripe fake, shared by `make dev` and the tests: Stripe's API, its objects and rules, its webhooks.

- `model.Stripe`: the objects (Checkout Sessions, coupons, customers and their balance
  transactions, subscriptions, invoices, payment intents, charges, refunds, billing-portal
  sessions) and Stripe's rules for them, on a clock that moves like a Stripe test clock;
- `params`: every request checked against the stripe library's own parameter TypedDicts;
- `api.StripeApi`: the HTTP API under `/v1/...` (auth, idempotency, expand, Stripe's errors);
- `webhooks.Webhooks`: events signed as Stripe signs them, posted over HTTP, retried on failure;
- `LocalStripe` (below): the three wired together as `make dev` runs them, with the clock.

The tests serve the same `StripeApi` on a port of their own (tests/support/stripe_fake.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from local.stripe_fake.api import StripeApi, decode_form
from local.stripe_fake.errors import StripeError
from local.stripe_fake.model import Obj, Price, Stripe
from local.stripe_fake.webhooks import Delivery, Webhooks, sign

__all__ = [
    "Delivery",
    "LocalStripe",
    "Price",
    "Stripe",
    "StripeApi",
    "StripeError",
    "Webhooks",
    "configured_price",
    "decode_form",
    "sign",
]


def configured_price(price_id: str) -> Price | None:
    """The Prices the fake knows: each configured plan's one-time gift price and yearly recurring price.

    Read from the service's own settings (`PLANS`), so the fake and the service agree on
    every amount; an id no plan names is Stripe's "No such price".
    """
    from giftplans import settings

    plan = settings.get().plan_by_price(price_id)
    if plan is None:
        return None
    recurring = price_id == plan.recurring_price_id
    title = plan.name.replace("_", " ").title()
    name = f"{title} plan, yearly subscription" if recurring else f"{title} plan for 1 year, for others"
    return Price(
        price_id, plan.amount, plan.currency, recurring=recurring, interval="year", product_name=name
    )


class LocalStripe:
    """The fake as the local server runs it: its API, its webhooks to the service, and the test clock."""

    def __init__(
        self,
        *,
        base_url: str,
        webhook_url: str,
        secret: Callable[[], str],
        now: Callable[[], int],
        set_now: Callable[[int], None],
        prices: Callable[[str], Price | None],
    ) -> None:
        self.stripe = Stripe(base_url=base_url, now=now, prices=prices)
        self.webhooks = Webhooks(webhook_url, secret)
        self.api = StripeApi(self.stripe, on_events=self.webhooks.enqueue)
        self._now = now
        self._set_now = set_now
        self._clock = threading.Lock()  # one clock movement at a time: events go out in time order

    def act(self, change: Callable[[], list[Obj]]) -> list[Delivery]:
        """Apply `change` (a customer on a Stripe page) after catching up; deliver its events now."""
        deliveries = self.catch_up()
        with self.stripe.lock:
            events = change()
        return deliveries + [self.webhooks.deliver(event) for event in events]

    def catch_up(self) -> list[Delivery]:
        """Whatever fell due as time flowed (a session reaching expires_at): applied, its events delivered."""
        with self._clock:
            events = self.stripe.advance(self._now())
            return [self.webhooks.deliver(event) for event in events]

    def move_clock(self, target: int) -> list[Delivery]:
        """Move the clock to `target` as a Stripe test clock moves: each transition at its time, in order.

        The service's clock stands at each transition's time while its events are delivered,
        so the service sees a renewal when it happens; then the clock goes on to `target`.
        """
        deliveries: list[Delivery] = []
        with self._clock:
            start = self._now()
            try:
                while True:
                    with self.stripe.lock:
                        due = self.stripe.next_due(target)
                        if due is None:
                            break
                        at, apply = due
                        self._set_now(max(at, start))
                        events = apply()
                    deliveries += [self.webhooks.deliver(event) for event in events]
            finally:
                self._set_now(target)
        return deliveries

    def start(self) -> None:
        """Post queued events in the background, and catch the clock up every second."""
        self.webhooks.start(tick=self.catch_up)

    def stop(self) -> None:
        self.webhooks.stop()
