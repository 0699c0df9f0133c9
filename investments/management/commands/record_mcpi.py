"""Record one MCPI value, or import a CSV of ``at,value`` rows (ISO date or datetime)."""

import csv
import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from investments import services
from investments.checks import LedgerError


def parse_moment(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise CommandError(f"Not a date or datetime: {text!r}") from error
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    return moment


class Command(BaseCommand):
    help = "Record an MCPI value: record_mcpi --at 2026-01-31 --value 104.5, or --csv file.csv"

    def add_arguments(self, parser):
        parser.add_argument("--at", help="when (ISO date/datetime, UTC if no zone); default now")
        parser.add_argument("--value", help="index value")
        parser.add_argument("--csv", help="file with rows at,value (a header row is skipped)")

    def handle(self, *args, at=None, value=None, csv=None, **options):
        rows = []
        if csv:
            rows = _read(csv)
        elif value is not None:
            rows = [(parse_moment(at) if at else timezone.now(), value)]
        else:
            raise CommandError("Give --value (and --at) or --csv.")
        for moment, number in rows:
            try:
                services.record_mcpi(actor=None, at=moment, value=number)
            except LedgerError as error:
                raise CommandError(f"{moment:%Y-%m-%d %H:%M}: {error.message}") from error
        self.stdout.write(self.style.SUCCESS(f"Recorded {len(rows)} MCPI value(s)."))


def _read(path):
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        for n, row in enumerate(csv.reader(handle)):
            if not row or (n == 0 and not row[0][:1].isdigit()):
                continue
            rows.append((parse_moment(row[0]), row[1].strip()))
    return rows
