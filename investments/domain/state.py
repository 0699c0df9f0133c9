"""The reducer: events applied to balances in memory (the shape every projection table has), and
the postings derived from it.

One handler per event type; payloads carry every computed number, so nothing here applies a rule
except valuation (``nav``), which is ``rules``'. The live projections, a replay up to any moment and
the audit's comparison all read and write this shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from . import rules


@dataclass
class State:
    """Everything the projections hold, keyed by id, as plain values."""

    investors: dict[int, dict] = field(default_factory=dict)
    funds: dict[int, dict] = field(default_factory=dict)
    holdings: dict[tuple[int, int], dict] = field(default_factory=dict)
    copyrights: dict[int, dict] = field(default_factory=dict)
    mcpi: dict[str, Decimal] = field(default_factory=dict)
    royalties: dict[int, dict] = field(default_factory=dict)
    fee: int = 0
    orders: dict[int, dict] = field(default_factory=dict)
    trades: dict[int, dict] = field(default_factory=dict)
    markets: dict[int, dict] = field(default_factory=dict)
    breaker: dict = field(default_factory=dict)

    # ``market`` and ``holding`` look before they make: a replay calls them a million times, and
    # ``setdefault`` would build a new empty record each time only to throw it away.

    def market(self, fund_id: int) -> dict:
        market = self.markets.get(fund_id)
        if market is None:
            market = self.markets.setdefault(
                fund_id, {"last_price": None, "previous_close": None, "day": None, "day_value": 0}
            )
        return market

    def holding(self, investor_id: int, fund_id: int) -> dict:
        key = (investor_id, fund_id)
        holding = self.holdings.get(key)
        if holding is None:
            holding = self.holdings.setdefault(key, {"held": 0, "reserved": 0, "cost_basis": 0})
        return holding

    def mcpi_at(self, moment: datetime) -> Decimal | None:
        best = None
        for at, value in self.mcpi.items():
            if datetime.fromisoformat(at) <= moment and (best is None or at > best[0]):
                best = (at, value)
        return best[1] if best else None

    def fund_value(self, fund_id: int, moment: datetime) -> Decimal:
        owned = [
            (c["price"], c["mcpi"]) for c in self.copyrights.values() if c["fund_id"] == fund_id
        ]
        return rules.fund_value(self.funds[fund_id]["cash"], owned, self.mcpi_at(moment))

    def nav(self, fund_id: int, moment: datetime) -> Decimal:
        fund = self.funds[fund_id]
        return rules.nav_per_share(
            fund_value=self.fund_value(fund_id, moment),
            shares=fund["shares"],
            base_price=fund["base_price"],
        )

    def apply(self, type_: str, p: dict) -> None:
        """Apply one event. Payloads carry every computed number: replay never recomputes."""
        self.apply_all(((type_, p),))

    def apply_all(self, events) -> None:
        """Apply ``(type, payload)`` events in order (a replay's loop: one handler lookup in a
        dict per event, no method call around it)."""
        handlers = _HANDLERS
        for type_, p in events:
            handler = handlers.get(type_)
            if handler is None:
                raise ValueError(f"unknown event type {type_!r}")
            handler(self, p)

    def _on_investor_registered(self, p):
        self.investors[p["investor_id"]] = {"user_id": p["user_id"], "available": 0, "reserved": 0}

    def _on_cash_deposited(self, p):
        self.investors[p["investor_id"]]["available"] += p["amount"]

    def _on_cash_withdrawn(self, p):
        self.investors[p["investor_id"]]["available"] -= p["amount"]

    def _on_fund_created(self, p):
        self.funds[p["fund_id"]] = {
            "name": p["name"],
            "base_price": p["base_price"],
            "cash": 0,
            "shares": 0,
            "pending": 0,
            "created_at": p["created_at"],
        }

    def _on_copyright_acquired(self, p):
        self.funds[p["fund_id"]]["cash"] -= p["price"]
        self.copyrights[p["copyright_id"]] = dict(p)

    def _on_mcpi_recorded(self, p):
        self.mcpi[p["at"]] = Decimal(p["value"])

    def _on_shares_subscribed(self, p):
        self.investors[p["investor_id"]]["available"] -= p["cost"]
        fund = self.funds[p["fund_id"]]
        fund["cash"] += p["cost"]
        fund["shares"] += p["shares"]
        holding = self.holding(p["investor_id"], p["fund_id"])
        holding["held"] += p["shares"]
        holding["cost_basis"] += p["cost"]

    def _on_shares_redeemed(self, p):
        self.investors[p["investor_id"]]["available"] += p["proceeds"]
        fund = self.funds[p["fund_id"]]
        fund["cash"] -= p["proceeds"]
        fund["shares"] -= p["shares"]
        holding = self.holding(p["investor_id"], p["fund_id"])
        holding["held"] -= p["shares"]
        holding["cost_basis"] -= p["cost_released"]

    def _on_royalty_received(self, p):
        self.funds[p["fund_id"]]["pending"] += p["amount"]
        self.royalties[p["royalty_id"]] = {
            "fund_id": p["fund_id"],
            "amount": p["amount"],
            "recorded_at": p["recorded_at"],
            "distributed": False,
        }

    def _on_royalty_distributed(self, p):
        fund = self.funds[p["fund_id"]]
        fund["pending"] -= p["amount"]
        fund["cash"] += p["remainder"]
        for investor_id, amount in p["allocations"].items():
            self.investors[int(investor_id)]["available"] += amount
        self.royalties[p["royalty_id"]]["distributed"] = True

    # --- the market ---

    def _on_order_placed(self, p):
        # Half of a big log: each value read from the payload once.
        investor_id, fund_id, side, quantity, cash = (
            p["investor_id"],
            p["fund_id"],
            p["side"],
            p["quantity"],
            p["cash_reserved"],
        )
        self.orders[p["order_id"]] = {
            "fund_id": fund_id,
            "investor_id": investor_id,
            "side": side,
            "price": p["price"],
            "quantity": quantity,
            "remaining": quantity,
            "cash_reserved": cash,
            "status": "open",
            "sequence": p["sequence"],
            "placed_at": p["placed_at"],
        }
        if side == "buy":
            investor = self.investors[investor_id]
            investor["available"] -= cash
            investor["reserved"] += cash
        else:
            holding = self.holding(investor_id, fund_id)
            holding["held"] -= quantity
            holding["reserved"] += quantity

    def _on_trade_executed(self, p):
        # A quarter of a big log: each value read from the payload once.
        fund_id, price, q, at = p["fund_id"], p["price"], p["quantity"], p["at"]
        buy_id, sell_id, buyer_id, seller_id = (
            p["buy_order_id"],
            p["sell_order_id"],
            p["buyer_id"],
            p["seller_id"],
        )
        spent, refund, buyer_fee, seller_fee = (
            p["spent"],
            p["refund"],
            p["buyer_fee"],
            p["seller_fee"],
        )
        value, released = price * q, spent + refund
        buy, sell = self.orders[buy_id], self.orders[sell_id]
        buy["remaining"] -= q
        buy["cash_reserved"] -= released
        sell["remaining"] -= q
        if buy["remaining"] == 0:
            buy["status"] = "filled"
        if sell["remaining"] == 0:
            sell["status"] = "filled"
        buyer, seller = self.investors[buyer_id], self.investors[seller_id]
        buyer["reserved"] -= released
        buyer["available"] += refund
        seller["available"] += value - seller_fee
        sold = self.holding(seller_id, fund_id)
        sold["reserved"] -= q
        sold["cost_basis"] -= p["cost_released"]
        bought = self.holding(buyer_id, fund_id)
        bought["held"] += q
        bought["cost_basis"] += spent
        self.fee += buyer_fee + seller_fee
        self.trades[p["trade_id"]] = {
            "fund_id": fund_id,
            "buy_order_id": buy_id,
            "sell_order_id": sell_id,
            "price": price,
            "quantity": q,
            "buyer_fee": buyer_fee,
            "seller_fee": seller_fee,
            "buyer_id": buyer_id,
            "seller_id": seller_id,
            "executed_at": at,
        }
        market, day = self.market(fund_id), p["day"]
        market["day_value"] = (market["day_value"] if market["day"] == day else 0) + 2 * value
        market["day"] = day
        market["last_price"] = price

    def _on_order_cancelled(self, p):
        order = self.orders[p["order_id"]]
        order["status"] = "cancelled"
        order["cash_reserved"] = 0
        if p["side"] == "buy":
            investor = self.investors[p["investor_id"]]
            investor["available"] += p["cash_released"]
            investor["reserved"] -= p["cash_released"]
        else:
            holding = self.holding(p["investor_id"], p["fund_id"])
            holding["held"] += p["shares_released"]
            holding["reserved"] -= p["shares_released"]

    def _on_market_halted(self, p):
        self.breaker = {"day": p["day"], "levels_fired": p["level"], "halted_until": p["until"]}

    def _on_market_resumed(self, p):
        self.breaker["halted_until"] = None

    def _on_market_closed(self, p):
        self.market(p["fund_id"])["previous_close"] = p["close"]


# Each event type's handler: ``State._on_<type>``.
_HANDLERS = {name[4:]: fn for name, fn in vars(State).items() if name.startswith("_on_")}


# --- what events touch -------------------------------------------------------------------------


class Touched(dict):
    """A dict whose missing entries are fresh zero records, noting each key that was read (an
    entry a handler changes) apart from those only written (a new entry)."""

    def __init__(self, make=dict):
        super().__init__()
        self.make = make
        self.read: set = set()

    def __getitem__(self, key):
        self.read.add(key)
        if key not in self:
            self[key] = self.make()
        return super().__getitem__(key)

    def setdefault(self, key, default=None):
        self.read.add(key)
        return super().setdefault(key, default)


def _zero_investor() -> dict:
    return {"user_id": None, "available": 0, "reserved": 0}


def _zero_fund() -> dict:
    return {"cash": 0, "shares": 0, "pending": 0}


def _zero_order() -> dict:
    return {"remaining": 0, "cash_reserved": 0, "status": "open"}


def touched(events) -> State:
    """``(type, payload)`` events applied to a state in which everything starts at zero: what
    comes out is exactly what they change (every balance handler adds or subtracts), and each
    table's keys are the entries they touch (``Touched.read``: the ones they change)."""
    state = State(
        investors=Touched(_zero_investor),
        funds=Touched(_zero_fund),
        holdings=Touched(),
        copyrights=Touched(),
        mcpi=Touched(),
        royalties=Touched(),
        orders=Touched(_zero_order),
        trades=Touched(),
        markets=Touched(),
    )
    for type_, payload in events:
        state.apply(type_, payload)
    return state


@dataclass
class Postings:
    """Rows of deltas: ``holders`` for investors' cash and holdings, ``funds`` for funds."""

    holders: list[dict]
    funds: list[dict]


def postings(type_: str, payload: dict) -> Postings:
    """The balances one event moves, as rows of deltas: one per holding (shares and cost basis)
    it touches, the holder's cash carried on the first of them, or on a row of its own (no fund)
    when the event moves their cash and no holding of theirs; and one per fund (cash, shares,
    royalties pending). Zero changes are left out. A trade is two holder rows, not four: an
    investor's cash is the sum of all their rows, a holding the sum of that fund's.

    Computed by applying the event with the reducer itself to a state in which everything starts at
    zero: every balance handler adds or subtracts, so what comes out is exactly the change. Summing
    a balance's postings up to a moment therefore equals replaying up to it, in any event order."""
    state = touched([(type_, payload)])
    cash = {
        investor_id: {"available": v["available"], "reserved": v["reserved"]}
        for investor_id, v in state.investors.items()
        if v["available"] or v["reserved"]
    }
    holders = []
    for (investor_id, fund_id), v in state.holdings.items():
        if any(v.values()):
            holders.append(
                {
                    "investor_id": investor_id,
                    "fund_id": fund_id,
                    **cash.pop(investor_id, {}),
                    "held": v["held"],
                    "held_reserved": v["reserved"],
                    "cost_basis": v["cost_basis"],
                }
            )
    holders += [{"investor_id": investor_id, **moved} for investor_id, moved in cash.items()]
    funds = [
        {"fund_id": fund_id, "cash": v["cash"], "shares": v["shares"], "pending": v["pending"]}
        for fund_id, v in state.funds.items()
        if v["cash"] or v["shares"] or v["pending"]
    ]
    return Postings(holders=holders, funds=funds)
