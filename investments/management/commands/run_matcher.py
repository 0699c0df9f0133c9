"""Run a market matcher: it leases every fund nobody else matches and matches their orders."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from prometheus_client import start_http_server

from investments.matcher import Matcher


class Command(BaseCommand):
    help = (
        "Match the market's orders (MARKET_MATCHER=stream, through Redis Streams). Run one or more "
        "anywhere that reaches the database and Redis; each fund is matched by one at a time, and "
        "another takes it over within the lease time when its matcher dies."
    )

    def add_arguments(self, parser):
        parser.add_argument("--lease-seconds", type=float, default=None)
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=None,
            help="serve this matcher's Prometheus metrics (okcow_market_*) on this port",
        )
        parser.add_argument(
            "--metrics-addr", default="127.0.0.1", help="address for --metrics-port"
        )
        parser.add_argument(
            "--until-idle", action="store_true", help="stop once there is nothing left to match"
        )

    def handle(self, *args, **options):
        if settings.MARKET_MATCHER != "stream":
            raise CommandError(
                "MARKET_MATCHER is 'inline' (no REDIS_URL): orders are matched as they are "
                "placed, no matcher process is needed."
            )
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        if options["metrics_port"]:
            # (Started after gunicorn with its PROMETHEUS_MULTIPROC_DIR, the site's /metrics
            # shows them too.)
            start_http_server(options["metrics_port"], addr=options["metrics_addr"])
        matcher = Matcher(lease_seconds=options["lease_seconds"])
        self.stdout.write(f"matcher {matcher.name} running (Ctrl-C stops it)")
        matcher.run(stop, idle_exit=options["until_idle"])
