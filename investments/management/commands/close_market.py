"""The daily close: fix each fund's close price (one server at a time, under a Redis lock)."""

from django.core.management.base import BaseCommand, CommandError

from config.locks import LockHeld
from investments import market


class Command(BaseCommand):
    help = "Fix each fund's close (its last trade price) as the next day's price-limit reference."

    def handle(self, *args, **options):
        try:
            done = market.close_market()
        except LockHeld as error:
            raise CommandError("Another server is closing the market right now.") from error
        self.stdout.write(self.style.SUCCESS(f"Closed {done} fund market(s)."))
