"""What an account has (`GET /me/entitlement`, and accept's answer)."""

from __future__ import annotations

from giftplans import contract as c

FIRST_CHARGE = c.model(
    "FirstCharge",
    {
        "at": c.string(description="ISO-8601 UTC"),
        "amount": c.integer(
            description="Minor units: the plan's price before any customer balance (a gift's credit)."
        ),
        "currency": c.string(),
    },
    description="What a renewed or upgraded subscription charges next: at its trial's or period's end.",
    nullable=True,
)

ENTITLEMENT_OUT = c.model(
    "EntitlementOut",
    {
        "active": c.boolean(),
        "plan": c.string(nullable=True),
        "source": c.string(nullable=True),
        "term_end": c.string(nullable=True),
        "auto_renew": c.boolean(),
    },
    {
        "grace_until": c.string(
            nullable=True, description="SPEC 8.8: a renewing subscription stays active until then."
        ),
        "days_left": c.integer(nullable=True),
        "gift_from": c.string(nullable=True),
        "first_charge": FIRST_CHARGE,  # null unless a subscription renews
    },
    description="What an account has now (`entitlements.current`), for GET /me/entitlement and accept.",
)
