"""Tables of the investments: the append-only event log and the projections built from it.

Money is always an integer number of cash units (BigIntegerField), never a float.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """Someone tried to change or delete an event."""


class AppendOnly(models.Model):
    """Rows that are written once and never changed or deleted (the log and what comes with it)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError(f"{self._meta.verbose_name_plural} are never updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{self._meta.verbose_name_plural} are never deleted")


def _unchecked(to, verbose_name, **options) -> models.ForeignKey:
    """A relation the log keeps right, without a database constraint or an index: on the tables
    every event or trade writes, each costs a random index insert and a parent lookup per row,
    for readers that do not exist. ``audit`` checks the rows against a full replay; PROTECT still
    keeps the ORM from deleting a parent (people are only ever marked deleted, ``accounts``)."""
    return models.ForeignKey(
        to,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=verbose_name,
        db_constraint=False,
        db_index=False,
        **options,
    )


class LedgerSequence(models.Model):
    """One row: the last number of the ledger's gap-free global sequence. A command locks it last,
    just before inserting its events, and takes a number for each in one UPDATE.

    See ``Event`` for why this gives a deterministic replay order.
    """

    last = models.BigIntegerField(default=0)

    def __str__(self):
        return f"ledger sequence at {self.last}"


class PostingWatermark(models.Model):
    """One row: the last event whose postings are written (``investments.postings``). Every event
    up to it has its postings, none after it has; a reader works out the postings of those after
    it from the log."""

    sequence = models.BigIntegerField(default=0)

    def __str__(self):
        return f"postings written through event #{self.sequence}"


class Event(AppendOnly):
    """One fact in the ledger, appended in the same transaction as its effects, never changed.

    Replay order: ``sequence``, not ``id``. On MariaDB auto-increment ids are handed out when a row
    is inserted and can commit out of order (transaction A takes id 10, B takes 11 and commits
    first), so a reader could see 11 without 10. A command therefore takes its numbers from the
    single ``LedgerSequence`` row, as the last lock before it inserts its events
    (``eventstore.append``): a command that commits later always has a larger sequence, and the
    sequence is gap-free because the row and the events commit or roll back together.
    (stream, version) is unique, so two writers of one stream conflict instead of interleaving.
    """

    sequence = models.BigIntegerField(_("sequence"), unique=True)
    stream = models.CharField(_("stream"), max_length=64)
    version = models.PositiveIntegerField(_("version"))
    type = models.CharField(_("type"), max_length=48, db_index=True)
    payload = models.JSONField(_("payload"), default=dict)
    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)
    # Who made it; nothing looks events up by actor (``_unchecked``: a fifth of the matcher's
    # event insert was this relation's index and lookup).
    actor = _unchecked(settings.AUTH_USER_MODEL, _("actor"), null=True, blank=True)
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=64, unique=True, null=True, blank=True
    )

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["sequence"]
        constraints = [
            models.UniqueConstraint(fields=["stream", "version"], name="event_stream_version"),
        ]

    def __str__(self):
        return f"#{self.sequence} {self.type} {self.stream}@{self.version}"


class Posting(AppendOnly):
    """What one event changed in one investor's holding of a fund and in their cash, or in their
    cash alone (``fund_id`` empty), as deltas (``domain.state.postings``): an investor's cash is
    the sum of all their postings, a holding the sum of its fund's. Written with its event, never
    changed; a balance at any moment is the sum of its postings up to that moment, so a past
    portfolio is a few indexed sums instead of a replay of the whole log. The ids are the
    ledger's, not foreign keys: projections are thrown away and rebuilt, postings stay with the
    events they come from."""

    sequence = models.BigIntegerField()
    occurred_at = models.DateTimeField()
    investor_id = models.BigIntegerField()
    fund_id = models.BigIntegerField(null=True, blank=True)
    available = models.BigIntegerField(default=0)
    reserved = models.BigIntegerField(default=0)
    held = models.BigIntegerField(default=0)
    held_reserved = models.BigIntegerField(default=0)
    cost_basis = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["sequence", "id"]
        indexes = [
            # Covering, and the only secondary index of the busiest insert: an investor's sums up
            # to a moment (a past portfolio, "had open orders") read this index alone, never the
            # rows (a busy investor has thousands of postings, each a random read of its row
            # otherwise), and "my history" walks it back from a moment, newest first.
            models.Index(
                fields=[
                    "investor_id",
                    "occurred_at",
                    "sequence",
                    "fund_id",
                    "available",
                    "reserved",
                    "held",
                    "held_reserved",
                    "cost_basis",
                ],
                name="posting_investor_sums",
            ),
        ]

    def __str__(self):
        return f"posting of event #{self.sequence} to investor {self.investor_id}"


class FundPosting(AppendOnly):
    """What one event changed in one fund's cash, shares outstanding and royalties pending (see
    ``Posting``)."""

    sequence = models.BigIntegerField()
    occurred_at = models.DateTimeField()
    fund_id = models.BigIntegerField()
    cash = models.BigIntegerField(default=0)
    shares = models.BigIntegerField(default=0)
    pending = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["sequence", "id"]
        # Covering: a fund's sums up to a moment read this index only, never the rows.
        indexes = [
            models.Index(
                fields=["fund_id", "occurred_at", "cash", "shares", "pending"], name="posting_fund"
            )
        ]

    def __str__(self):
        return f"posting of event #{self.sequence} to fund {self.fund_id}"


class FundPostingMonth(models.Model):
    """A fund's postings summed per calendar month (UTC): written with them, by adding (so in any
    order), never otherwise. A fund's balance at a moment is the sum of its months before that
    moment's month and of that month's postings up to the moment — a few dozen rows at any log
    size instead of every posting of the fund's life."""

    fund_id = models.BigIntegerField()
    month = models.DateField()  # its first day
    cash = models.BigIntegerField(default=0)
    shares = models.BigIntegerField(default=0)
    pending = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["fund_id", "month"]
        constraints = [
            models.UniqueConstraint(fields=["fund_id", "month"], name="fund_posting_month")
        ]

    def __str__(self):
        return f"postings of fund {self.fund_id} in {self.month:%Y-%m}"


def _non_negative(*fields):
    return [
        models.CheckConstraint(condition=Q(**{f"{field}__gte": 0}), name="%(class)s_" + field)
        for field in fields
    ]


class Investor(models.Model):
    """An investor profile and its cash account (available + reserved for open buy orders)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="investor",
        verbose_name=_("person"),
    )
    cash_available = models.BigIntegerField(_("cash available"), default=0)
    cash_reserved = models.BigIntegerField(_("cash reserved"), default=0)

    class Meta:
        verbose_name = _("investor")
        verbose_name_plural = _("investors")
        constraints = _non_negative("cash_available", "cash_reserved")

    def __str__(self):
        return f"investor {self.pk} ({self.user})"


class Fund(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    base_price = models.BigIntegerField(_("base price"))
    cash = models.BigIntegerField(_("cash"), default=0)
    shares_outstanding = models.BigIntegerField(_("shares outstanding"), default=0)
    # Royalties received and owed to holders, not yet distributed: not the fund's to spend.
    royalties_pending = models.BigIntegerField(_("royalties pending"), default=0)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("fund")
        verbose_name_plural = _("funds")
        ordering = ["name"]
        constraints = [
            *_non_negative("cash", "shares_outstanding", "royalties_pending"),
            models.CheckConstraint(condition=Q(base_price__gt=0), name="fund_base_price_positive"),
        ]

    def __str__(self):
        return self.name


class Holding(models.Model):
    investor = models.ForeignKey(
        Investor, on_delete=models.PROTECT, related_name="holdings", verbose_name=_("investor")
    )
    fund = models.ForeignKey(
        Fund, on_delete=models.PROTECT, related_name="holdings", verbose_name=_("fund")
    )
    held = models.BigIntegerField(_("shares held"), default=0)
    reserved = models.BigIntegerField(_("shares reserved"), default=0)
    cost_basis = models.BigIntegerField(_("cost basis"), default=0)

    class Meta:
        verbose_name = _("holding")
        verbose_name_plural = _("holdings")
        constraints = [
            *_non_negative("held", "reserved", "cost_basis"),
            models.UniqueConstraint(fields=["investor", "fund"], name="holding_investor_fund"),
        ]

    def __str__(self):
        return f"{self.investor_id} holds {self.held} of fund {self.fund_id}"


class Copyright(models.Model):
    fund = models.ForeignKey(
        Fund, on_delete=models.PROTECT, related_name="copyrights", verbose_name=_("fund")
    )
    code = models.CharField(_("code"), max_length=40, unique=True)
    registration_number = models.CharField(_("registration number"), max_length=40)
    music_id = models.CharField(_("music ID"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    artist = models.CharField(_("artist"), max_length=200)
    price = models.BigIntegerField(_("price"))
    acquired_at = models.DateTimeField(_("acquired at"))
    mcpi_at_acquisition = models.DecimalField(
        _("MCPI at acquisition"), max_digits=14, decimal_places=4
    )

    class Meta:
        verbose_name = _("copyright")
        verbose_name_plural = _("copyrights")
        ordering = ["acquired_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="copyright_price_positive")
        ]

    def __str__(self):
        return f"{self.title} — {self.artist}"


class McpiValue(models.Model):
    """The music copyright property index at a moment."""

    at = models.DateTimeField(_("moment"), unique=True)
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=4)

    class Meta:
        verbose_name = _("MCPI value")
        verbose_name_plural = _("MCPI values")
        ordering = ["at"]
        constraints = [models.CheckConstraint(condition=Q(value__gt=0), name="mcpi_value_positive")]

    def __str__(self):
        return f"MCPI {self.value} at {self.at:%Y-%m-%d %H:%M}"


class FeeAccount(models.Model):
    """One row: the market's fees (used by the market, issue 5)."""

    balance = models.BigIntegerField(default=0)

    class Meta:
        constraints = _non_negative("balance")

    def __str__(self):
        return f"fee account {self.balance}"


class Royalty(models.Model):
    """A royalty payment received by a fund; shares at record time decide who gets what."""

    fund = models.ForeignKey(
        Fund, on_delete=models.PROTECT, related_name="royalties", verbose_name=_("fund")
    )
    amount = models.BigIntegerField(_("amount"))
    recorded_at = models.DateTimeField(_("recorded at"))
    distributed = models.BooleanField(_("distributed"), default=False)

    class Meta:
        verbose_name = _("royalty")
        verbose_name_plural = _("royalties")
        ordering = ["-recorded_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="royalty_amount_positive")
        ]

    def __str__(self):
        return f"royalty {self.amount} to fund {self.fund_id}"


class Market(models.Model):
    """One row per fund: its trading state. Locked by matching so a fund's book is serialised."""

    fund = models.OneToOneField(
        Fund, on_delete=models.PROTECT, primary_key=True, verbose_name=_("fund")
    )
    last_price = models.BigIntegerField(_("last price"), null=True, blank=True)
    previous_close = models.BigIntegerField(_("previous close"), null=True, blank=True)
    day = models.DateField(_("day"), null=True, blank=True)
    day_value = models.BigIntegerField(_("day's trade value"), default=0)

    class Meta:
        verbose_name = _("market")
        verbose_name_plural = _("markets")
        constraints = _non_negative("day_value")

    def __str__(self):
        return f"market of fund {self.fund_id}"


class MatcherCheckpoint(models.Model):
    """One row per fund, locked by every batch of its matcher (so a fund's batches run one at a
    time): the ``epoch`` of the lease that may write it — each matcher taking the fund over raises
    it, so a matcher that lost its lease cannot write a batch — and ``version``, a random number
    each batch writes anew: a matcher whose book in memory was built at another version knows it
    is stale (someone else wrote a batch, or its own batch was rolled back) and reads it again."""

    fund = models.OneToOneField(Fund, on_delete=models.PROTECT, primary_key=True)
    epoch = models.BigIntegerField(default=0)
    version = models.BigIntegerField(default=0)

    def __str__(self):
        return f"matcher of fund {self.fund_id} (epoch {self.epoch})"


class CircuitBreaker(models.Model):
    """One row: the market-wide halt state driven by MCPI falls."""

    day = models.DateField(_("day"), null=True, blank=True)
    levels_fired = models.PositiveSmallIntegerField(
        _("levels fired"), default=0
    )  # highest level fired on ``day``
    halted_until = models.DateTimeField(_("halted until"), null=True, blank=True)

    class Meta:
        verbose_name = _("circuit breaker")
        verbose_name_plural = _("circuit breakers")

    def __str__(self):
        return f"circuit breaker (halted until {self.halted_until})"


class Order(models.Model):
    class Side(models.TextChoices):
        BUY = "buy", _("Buy")
        SELL = "sell", _("Sell")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        FILLED = "filled", _("Filled")
        CANCELLED = "cancelled", _("Cancelled")

    fund = models.ForeignKey(
        Fund, on_delete=models.PROTECT, related_name="orders", verbose_name=_("fund")
    )
    investor = models.ForeignKey(
        Investor, on_delete=models.PROTECT, related_name="orders", verbose_name=_("investor")
    )
    side = models.CharField(_("side"), max_length=4, choices=Side.choices)
    price = models.BigIntegerField(_("price"))
    quantity = models.BigIntegerField(_("quantity"))
    remaining = models.BigIntegerField(_("remaining"))
    cash_reserved = models.BigIntegerField(
        _("cash reserved"), default=0
    )  # buy orders: cash still held for them
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    placed_at = models.DateTimeField(_("placed at"))
    sequence = models.BigIntegerField(_("sequence"))  # time priority

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["sequence"]
        indexes = [
            # Matching walks (fund, open, side, price) by sequence; the book sums ``remaining``
            # per price from the index alone.
            models.Index(
                fields=["fund", "status", "side", "price", "sequence", "remaining"],
                name="order_book",
            ),
        ]
        constraints = [
            *_non_negative("remaining", "cash_reserved"),
            models.CheckConstraint(condition=Q(price__gt=0), name="order_price_positive"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.side} {self.remaining}/{self.quantity} @ {self.price} (fund {self.fund_id})"


class Trade(models.Model):
    fund = models.ForeignKey(
        Fund, on_delete=models.PROTECT, related_name="trades", verbose_name=_("fund")
    )
    # The sides: nothing looks trades up by order or investor (an investor's trades are their
    # postings and events), and every trade, the matcher's and the rebuild's, would pay four
    # index inserts and four parent lookups (``_unchecked``).
    buy_order = _unchecked(Order, _("buy order"))
    sell_order = _unchecked(Order, _("sell order"))
    buyer = _unchecked(Investor, _("buyer"))
    seller = _unchecked(Investor, _("seller"))
    price = models.BigIntegerField(_("price"))
    quantity = models.BigIntegerField(_("quantity"))
    buyer_fee = models.BigIntegerField(_("buyer's fee"))
    seller_fee = models.BigIntegerField(_("seller's fee"))
    executed_at = models.DateTimeField(_("executed at"), db_index=True)

    class Meta:
        verbose_name = _("trade")
        verbose_name_plural = _("trades")
        ordering = ["-executed_at", "-id"]
        # A fund's latest trades (the market page) and its last price at a moment (time travel).
        indexes = [models.Index(fields=["fund", "executed_at"], name="trade_fund_time")]
        constraints = [
            *_non_negative("buyer_fee", "seller_fee"),
            models.CheckConstraint(condition=Q(price__gt=0), name="trade_price_positive"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="trade_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.quantity} @ {self.price} (fund {self.fund_id})"
