"""Throw the projections away and build them again from the event log."""

from django.core.management.base import BaseCommand

from investments import replay


class Command(BaseCommand):
    help = "Rebuild cash accounts, holdings, funds, copyrights, MCPI and royalties from the log."

    def handle(self, *args, **options):
        state = replay.rebuild()
        self.stdout.write(
            self.style.SUCCESS(
                f"Rebuilt {len(state.investors)} investors, {len(state.funds)} funds, "
                f"{len(state.holdings)} holdings."
            )
        )
