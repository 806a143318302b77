"""The SPEC JSON of checkouts and quotes (split from views.py, which holds every other shape)."""

from typing import Any, NamedTuple

Json = dict[str, Any]


class CheckoutSession(NamedTuple):
    session_id: str
    url: str

    def as_json(self) -> Json:
        return self._asdict()


class Quote(NamedTuple):
    """The SPEC upgrade quote, plus what the checkout needs to link the seat."""

    plan: str
    target_price: int
    credit: int
    amount_due: int
    currency: str
    remaining_days: int
    term_days: int
    quote_expires_at: str
    from_plan: str
    term_end: str
    purchase_id: str
    seat_id: str

    def as_json(self) -> Json:
        return self._asdict()


class UpgradeCheckout(NamedTuple):
    session_id: str
    url: str
    quote: Quote

    def as_json(self) -> Json:
        return {"session_id": self.session_id, "url": self.url, "quote": self.quote.as_json()}


class RenewalCheckout(NamedTuple):
    session_id: str
    url: str
    plan: str
    starts_billing_at: str
    note: str | None = None

    def as_json(self) -> Json:
        return {
            "session_id": self.session_id,
            "url": self.url,
            "plan": self.plan,
            "starts_billing_at": self.starts_billing_at,
            "note": self.note or None,  # always answered: null unless billing starts now
        }
