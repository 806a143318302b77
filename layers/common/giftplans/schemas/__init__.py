"""The HTTP API's response shapes as pydantic models (SPEC section 4), for OpenAPI and response validation.

The domain returns typed results (`giftplans.views`) whose `as_json()` is the SPEC JSON;
routes annotate their return type with these models so the OpenAPI document shows the
contract. Field names are part of the contract. One module per area, so a function
builds only the models it answers with (a pydantic model costs milliseconds to define,
at cold start): `purchases` (purchases, seats, the audit trail), `checkout`,
`entitlements`.
"""
