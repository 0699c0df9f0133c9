"""Run the postings follower: it writes time travel's postings behind the ledger's log."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from investments import postings


class Command(BaseCommand):
    help = (
        "Write the postings (time travel's index of the ledger) of new events as they come "
        "(LEDGER_POSTINGS=follower). Run one or more anywhere that reaches the database: one "
        "writes at a time, the others wait their turn; readers are right however far behind."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--until-idle", action="store_true", help="stop once every event has its postings"
        )

    def handle(self, *args, **options):
        if settings.LEDGER_POSTINGS != "follower" and not options["until_idle"]:
            raise CommandError(
                "LEDGER_POSTINGS is 'inline': each command writes its own postings, no follower "
                "is needed (--until-idle still writes any an earlier follower left)."
            )
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write("postings follower running (Ctrl-C stops it)")
        postings.run(stop, idle_exit=options["until_idle"])
