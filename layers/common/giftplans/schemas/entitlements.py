"""What an account has (`GET /me/entitlement`, and accept's answer)."""

from __future__ import annotations

from pydantic import BaseModel


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
