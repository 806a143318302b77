"""Gift plans: buy yearly plans for others, invite, accept, claim, upgrade, expire."""
