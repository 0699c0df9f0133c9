"""One fund's order book, in the style of exchange-core's ``IOrderBook``: an order in, fills out.

Price levels per side, time priority within a level (orders keep their place in the order they
arrived), and matched-price trading: a buy and a sell trade only at the same price. The book
knows quantities, not money: what a fill costs is ``rules.trade_terms``.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

BUY, SELL = "buy", "sell"


def other_side(side: str) -> str:
    return SELL if side == BUY else BUY


@dataclass
class BookOrder:
    order_id: int
    investor_id: int
    side: str
    price: int
    remaining: int


@dataclass(frozen=True)
class Fill:
    """``quantity`` traded at ``price`` between a resting order (the maker) and the new one."""

    buy_order_id: int
    sell_order_id: int
    buyer_id: int
    seller_id: int
    price: int
    quantity: int
    buy_remaining: int  # the buy order's remaining quantity before this fill


class OrderBook:
    def __init__(self) -> None:
        self._levels: dict[tuple[str, int], deque[BookOrder]] = {}
        self._orders: dict[int, BookOrder] = {}
        self._owners: Counter[tuple[int, str, int]] = Counter()  # (investor, side, price) → orders

    def __len__(self) -> int:
        return len(self._orders)

    def __contains__(self, order_id: int) -> bool:
        return order_id in self._orders

    def get(self, order_id: int) -> BookOrder | None:
        return self._orders.get(order_id)

    def orders(self) -> list[BookOrder]:
        """Resting orders, by side, price and time."""
        return [o for key in sorted(self._levels) for o in self._levels[key]]

    def depth(self, side: str, price: int) -> int:
        return sum(o.remaining for o in self._levels.get((side, price), ()))

    def makers(self, side: str, price: int, quantity: int) -> list[BookOrder]:
        """The resting orders an order for ``quantity`` on ``side`` at ``price`` would meet now,
        oldest first (who a batch's orders may trade with, before they are placed)."""
        met, left = [], quantity
        for maker in self._levels.get((other_side(side), price), ()):
            if left <= 0:
                break
            met.append(maker)
            left -= maker.remaining
        return met

    def rest(self, order: BookOrder) -> None:
        """Put an order on the book without matching (rebuilding a book from stored orders)."""
        if order.remaining <= 0 or order.order_id in self._orders:
            raise ValueError(f"order {order.order_id} cannot rest")
        self._levels.setdefault((order.side, order.price), deque()).append(order)
        self._orders[order.order_id] = order
        self._owners[(order.investor_id, order.side, order.price)] += 1

    def _forget(self, order: BookOrder) -> None:
        del self._orders[order.order_id]
        owner = (order.investor_id, order.side, order.price)
        self._owners[owner] -= 1
        if not self._owners[owner]:
            del self._owners[owner]

    def place(self, order: BookOrder) -> list[Fill]:
        """Match ``order`` against the other side at its price, oldest first; what remains rests."""
        if order.remaining <= 0 or order.order_id in self._orders:
            raise ValueError(f"order {order.order_id} cannot be placed")
        fills = []
        key = (other_side(order.side), order.price)
        resting = self._levels.get(key)
        while order.remaining and resting:
            maker = resting[0]
            buy, sell = (order, maker) if order.side == BUY else (maker, order)
            quantity = min(order.remaining, maker.remaining)
            fills.append(
                Fill(
                    buy_order_id=buy.order_id,
                    sell_order_id=sell.order_id,
                    buyer_id=buy.investor_id,
                    seller_id=sell.investor_id,
                    price=order.price,
                    quantity=quantity,
                    buy_remaining=buy.remaining,
                )
            )
            order.remaining -= quantity
            maker.remaining -= quantity
            if maker.remaining == 0:
                resting.popleft()
                self._forget(maker)
        if resting is not None and not resting:
            del self._levels[key]
        if order.remaining:
            self.rest(order)
        return fills

    def cancel(self, order_id: int) -> BookOrder | None:
        """Take an order off the book; None when it is not resting."""
        order = self._orders.get(order_id)
        if order is not None:
            self._forget(order)
            level = self._levels[(order.side, order.price)]
            level.remove(order)
            if not level:
                del self._levels[(order.side, order.price)]
        return order

    def has(self, investor_id: int, side: str, price: int) -> bool:
        """Whether the investor has an order resting on ``side`` at ``price`` (self-trade check)."""
        return (investor_id, side, price) in self._owners

    def renumber(self, ids: dict[int, int]) -> None:
        """Give resting orders their final ids (old id → new id), keeping their places."""
        for old, new in ids.items():
            if (order := self._orders.pop(old, None)) is not None:
                order.order_id = new
                self._orders[new] = order
