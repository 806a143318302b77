"""Invitations (SPEC rules 3, 5, 6, 10, 11, 13): a buyer hands a seat to an address; its holder answers.

- `addresses`: which rows may be invited (well-formed, distinct, not the buyer's own, not a holder's);
- `limits`: the buyer's daily limit of invitation emails (rule 13), counted in the same write;
- `buyer`: invite, revoke, resend;
- `link`: what the link holder does with the link: preview, accept, decline.

Every transition is one write (docs/design.md, "What each transition writes"): the seat,
conditional on its state (and, for the link holder, on the token's hash, plan and term
end); the purchase's counts, `available` and `holders`; the audit event; and whatever
else the rule touches (the entitlement on accept, the buyer's daily counter on invite and
resend). Refusals are explained from the item as it stood (ALL_OLD), so accept, decline,
revoke and resend cost one round trip each and invite two (one BatchGetItem, one
transaction). The committed change is the outbox: the stream readers mail and publish it.

The accept link names its seat and carries the plan and term end, then a MAC
(`giftplans.tokens`); the seat stores only the nonce and the MAC's hash.
"""
