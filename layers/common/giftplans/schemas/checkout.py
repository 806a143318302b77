"""A started checkout (`POST /checkout/sessions`)."""

from __future__ import annotations

from pydantic import BaseModel


class CheckoutSessionOut(BaseModel):
    session_id: str
    url: str
