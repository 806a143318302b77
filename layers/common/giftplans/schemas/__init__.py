"""The HTTP API's answer shapes (SPEC section 4) as `giftplans.contract` schemas, shared by functions.

The domain returns typed results (`giftplans.views`) whose `as_json()` is the SPEC JSON; a
route declares the schema it answers with (`contract.takes(answers=...)`), so the OpenAPI
document shows the contract and the tests check every answer against it. Field names are
part of the contract. One module per area: `purchases` (purchases, seats, the audit trail),
`checkout`, `entitlements`.
"""
