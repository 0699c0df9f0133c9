"""Replay the whole event log into scratch state and compare it with the live projections; check
that the postings add up to the live balances too."""

from django.core.management.base import BaseCommand, CommandError

from investments import replay


class Command(BaseCommand):
    help = "Replay the event log and compare with the live projections; exit 1 on any difference."

    def handle(self, *args, **options):
        problems = replay.audit()
        for line in problems:
            self.stdout.write(line)
        if problems:
            raise CommandError(f"{len(problems)} difference(s) between the log and the projections")
        self.stdout.write(
            self.style.SUCCESS("Audit passed: projections equal a full replay and the postings.")
        )
