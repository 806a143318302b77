"""What an account has (`GET /me/entitlement`, and accept's answer)."""

from __future__ import annotations

from pydantic import BaseModel


class FirstCharge(BaseModel):
    """What a renewed or upgraded account's subscription charges next: at its trial's or period's end."""

    at: str  # ISO-8601 UTC
    amount: int  # minor units, the plan's price before any customer balance (a gift's credit) is applied
    currency: str


class EntitlementOut(BaseModel):
    """What an account has now (`giftplans.entitlements.current`), for GET /me/entitlement and accept."""

    active: bool
    plan: str | None
    source: str | None
    term_end: str | None
    auto_renew: bool
    grace_until: str | None = None  # SPEC 8.8: a renewing subscription stays active until then
    days_left: int | None = None
    gift_from: str | None = None
    first_charge: FirstCharge | None = None  # null unless a subscription renews
