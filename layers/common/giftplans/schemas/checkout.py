"""A started checkout (`POST /checkout/sessions`)."""

from __future__ import annotations

from giftplans import contract as c

CHECKOUT_SESSION_OUT = c.model("CheckoutSessionOut", {"session_id": c.string(), "url": c.string()})
