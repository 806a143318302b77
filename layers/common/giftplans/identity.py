"""Who is asking: the caller's identity as the domain sees it.

`giftplans.http` builds a `Caller` from the claims API Gateway's JWT authorizer checked
(and support's IAM identity for the admin routes); the domain takes a `Caller` and never
reads a request. Support acts for a buyer as that buyer (`Caller.for_buyer`), with
`support:<IAM ARN>` recorded as the actor (`giftplans.audit.support`).
"""

from typing import NamedTuple


class Caller(NamedTuple):
    """The signed-in account: its id (`sub`), its address and whether the identity provider verified it."""

    sub: str
    email: str | None
    email_verified: bool
    locale: str | None = None  # en | de: the JWT's `locale` claim, else Accept-Language (giftplans.locales)

    @classmethod
    def for_buyer(cls, sub: str, email: str) -> "Caller":
        """The buyer of a purchase, as support acts for them (the buyer's limits and counters apply)."""
        return cls(sub=sub, email=email, email_verified=True)
