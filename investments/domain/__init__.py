"""The investments domain in plain Python: no Django, no database.

- ``events``: every event type, its payload's fields, stream names, and the one codec for
  moments and decimals;
- ``rules``: every money and market rule (NAV, shares for an amount, fees, price range, tick,
  circuit-breaker level, cost released, royalty allocation);
- ``orderbook``: one fund's order book — an order in, fills out;
- ``state``: the reducer (events → balances) and the postings derived from it.

The live commands, the replay, the audit, time travel and the seeder all use these; nothing else
restates a rule.
"""
