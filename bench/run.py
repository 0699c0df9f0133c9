"""`python -m bench.run`: seed, serve with gunicorn, load every scenario, print the table.

See README.md, "Speed". Everything runs on 127.0.0.1, bounded by --duration and --connections;
gunicorn is stopped at the end even on error.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HTTP = (
    "board-list",
    "board-list-deep",
    "board-list-spread",
    "board-search",
    "board-search-common",
    "board-search-deep",
    "board-search-two",
    "board-search-spread",
    "post-cached",
    "post-uncached",
    "vote",
    "comment",
    "portfolio",
    "market",
    "order-http",
)
IN_PROCESS = (
    "bare-transaction",
    "order-service",
    "matcher",
    "rebuild",
    "rebuild-wiped",
    "time-travel",
)
SCENARIOS = HTTP + IN_PROCESS
# With --replica, these read rows run a second time on a server that reads the replica (the
# cached ones mostly read Redis; -spread and -uncached read the database).
ON_REPLICA = ("board-list", "board-list-spread", "post-cached", "post-uncached")
DEEP_PAGE = 5_000
PEOPLE = 2_000  # logged-in people per write scenario (rate limits are per person)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="seed_scale size (1.0 = full)")
    parser.add_argument("--duration", type=float, default=10, help="seconds per HTTP scenario")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--no-seed", action="store_true", help="skip manage.py seed_scale")
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, metavar="NAME", help="scenarios")
    parser.add_argument("--orders", type=int, default=2_000, help="orders in the service loop")
    parser.add_argument(
        "--matcher-orders", type=int, default=10_000, help="orders queued for the matcher row"
    )
    # 200: a p99 of fewer samples is their slowest one alone
    parser.add_argument("--samples", type=int, default=200, help="time-travel samples")
    parser.add_argument("--profile", action="store_true", help="write pyinstrument profiles")
    parser.add_argument(
        "--replica",
        default=os.environ.get("BENCH_REPLICA_URL", ""),
        metavar="URL",
        help="a replica of DATABASE_URL (mysql://…): the board's read rows run on it too",
    )
    parser.add_argument("--out", type=Path, default=None, help="the Markdown table (var/bench.md)")
    args = parser.parse_args(argv)
    args.only = list(args.only or SCENARIOS)
    return args


def setup_django() -> None:
    # The driver shares SECRET_KEY with the server: the sessions it makes carry a hash keyed on it.
    os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_hex(40))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DJANGO_DEBUG"] = "0"  # no query log growing through the in-process loops
    os.environ["OKCOW_BENCH"] = "1"
    import django

    django.setup()


@dataclass
class Scenario:
    name: str
    build: Callable[[], tuple[list, str]]  # -> (wrk requests, note)
    target: object = None
    kind: str = "read"  # read or write: which connections count


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_django()
    from django.conf import settings
    from django.core.management import call_command

    from . import ceiling, database, figures, report, server, wrk

    var = Path(settings.VAR_DIR) / "bench"
    (var / "profiles").mkdir(parents=True, exist_ok=True)
    out = args.out or Path(settings.VAR_DIR) / "bench.md"
    if not args.no_seed:
        call_command("seed_scale", scale=args.scale)
    ceiling.ensure_tables()
    database.settle()
    data = Data(args)
    rows: list[report.Row] = []
    audit_text = ""
    http = [name for name in HTTP if name in args.only]
    threads = int(os.environ.get("GUNICORN_THREADS", 4))

    def load(name: str, requests: list, note: str = "", target=None) -> report.Row:
        print(f"… {name} ({args.duration:g} s)", file=sys.stderr, flush=True)
        server.settle(base)
        options = {"connections": args.connections, "threads": args.threads, "workdir": var}
        # One second first, not counted: workers open connections and load templates.
        wrk.run(base, requests, duration=1, name="warm-up", **options)
        result = wrk.run(
            base,
            requests,
            duration=args.duration,
            name=name.replace(" ", "-").replace("(", "").replace(")", ""),
            **options,
        )
        row = report.Row(
            name,
            rate=result.rate,
            p50_ms=result.p50_ms,
            p99_ms=result.p99_ms,
            target=target,
            note=note,
            extra={"wrk": result.raw, "sample": requests[0].path},
        )
        if result.failure_share > 0.01:
            row.error = (
                f"{result.failures:,} of {result.requests:,} failed (status ≥ 400 or socket)"
            )
        return row

    def order_http() -> list[report.Row]:
        """Orders over HTTP, and how long after its acceptance each trade they made was visible
        (the matcher's histogram, read before and after)."""
        metrics_dir = var / "prometheus"
        before = figures.trade_latency(metrics_dir)
        row = _guard("order-http", lambda: load("order-http", *data.scenario("order-http")))
        server.settle(base)  # the matcher finishes what the load left in its queue
        trades, p99 = figures.latency_p99_ms(before, figures.trade_latency(metrics_dir))
        latency = report.Row(
            "order-http accept→trade",
            unit="ms",
            p99_ms=p99,
            target=report.Target("p99 < 500 ms", p99_ms=500),
            note=f"{trades:,} trades of order-http: from the taker's acceptance to the trade's "
            "commit (okcow_market_accept_to_trade_seconds; p99 as its bucket's bound)",
        )
        if not trades:
            latency.error = "no trade was made"
        return [row, latency]

    def on_replica(names: list[str]) -> list[report.Row]:
        """The rows ``names`` again, on a server whose reads go to the replica (the router, as
        in production), starting from an empty cache; each row says what share of its requests
        read the replica."""
        nonlocal base
        print("… waiting for the replica to apply the seeded data", file=sys.stderr, flush=True)
        if not figures.replica_caught_up(args.replica):
            return [
                report.Row(f"{n} (replica)", error="the replica did not catch up") for n in names
            ]
        # The pages the first server cached would answer without reading any database.
        from django.core.cache import cache

        cache.clear()
        replica_var = var / "replica"
        env = {**os.environ, "DATABASE_REPLICA_URLS": args.replica}
        found = []
        with server.gunicorn(workers=args.workers, var=replica_var, env=env) as base:
            data.base = base
            for name in names:
                before = figures.read_routes(replica_var / "prometheus")
                row = _guard(name, lambda name=name: load(name, *data.scenario(name)))
                after = figures.read_routes(replica_var / "prometheus")
                routed = {to: after.get(to, 0) - before.get(to, 0) for to in after}
                total = sum(routed.values())
                share = routed.get("replica", 0) / total if total else 0.0
                row.name = f"{name} (replica)"
                said = (
                    f"{share:.0%} of its requests that read a database read the replica"
                    if total
                    else "no request read a database (the cache answered)"
                )
                row.note = f"{said}; {row.note}" if row.note else said
                if total and share < 0.99:
                    row.error = f"only {share:.0%} of its database reads went to the replica"
                found.append(row)
        return found

    base = ""
    if http:
        with server.gunicorn(workers=args.workers, var=var, env=dict(os.environ)) as base:
            data.base = base
            read_ceiling = _guard(
                "ceiling (read)", lambda: load("ceiling (read)", data.ceiling_read())
            )
            write_ceiling = _guard(
                "ceiling (write)", lambda: load("ceiling (write)", data.ceiling_write())
            )
            read_ceiling.note = "GET: one primary-key query + tiny template, same stack"
            write_ceiling.note = "POST, logged in: lock one row, update it, insert one row"
            rows += [read_ceiling, write_ceiling]
            for name in http:
                if name == "order-http":
                    rows += order_http()
                else:
                    rows.append(_guard(name, lambda name=name: load(name, *data.scenario(name))))
            for row in rows:
                row.relate(read_ceiling.rate, write_ceiling.rate)
            if args.profile:  # with the server and its matcher still running: an order is answered
                for row in rows:
                    if row.status in (report.MISS, report.ERROR) and row.name in HTTP:
                        _guard(row.name, lambda row=row: data.profile_request(row.name, var))
        if args.replica:
            replicated = on_replica([name for name in ON_REPLICA if name in http])
            for row in replicated:
                row.relate(read_ceiling.rate, write_ceiling.rate)
            rows += replicated

    def in_process(name, fn, again=None):
        """The figure, measured without a profiler (it would slow what it measures); with
        --profile, a missed one is run once more under pyinstrument (``again``: a shorter run)."""
        print(f"… {name}", file=sys.stderr, flush=True)
        row = _guard(name, fn)
        if args.profile and row.status == report.MISS:
            _guard(name, lambda: _profiled(name, again or fn, var))
        return row

    if "bare-transaction" in args.only:
        rows.append(in_process("bare-transaction", lambda: data.bare(args.duration)))
    if "order-service" in args.only:
        rows.append(
            in_process(
                "order-service",
                lambda: data.orders(args.orders),
                again=lambda: data.orders(min(args.orders, 300)),
            )
        )
    if "matcher" in args.only:
        rows.append(in_process("matcher", lambda: data.matcher(args.matcher_orders)))
    if "order-http" in args.only or "order-service" in args.only:
        passed, text = figures.audit(dict(os.environ))
        audit_text = text
        last = text.splitlines()[-1] if text else ""
        rows.append(
            report.Row(
                "audit after orders",
                rate=None,
                unit="",
                target=report.Target("passes"),
                note="manage.py audit: " + last,
                error="" if passed else "manage.py audit failed",
            )
        )
    if "rebuild" in args.only:
        rows.append(in_process("rebuild", data.rebuild))
    if "rebuild-wiped" in args.only:
        rows.append(in_process("rebuild-wiped", lambda: data.rebuild(wiped=True)))
    if "time-travel" in args.only:
        rows.append(in_process("time-travel", lambda: data.time_travel(args.samples)))

    header = report.machine(
        mariadb=data.mariadb_version(),
        redis=data.redis_version(),
        workers=args.workers,
        threads=threads,
        scale=args.scale,
    )
    header += f"; wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s per scenario"
    text = report.render(rows, header=header, audit=audit_text)
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    (var / "results.json").write_text(json.dumps(report.as_dicts(rows), indent=2, default=str))
    print(f"(written to {out})", file=sys.stderr)
    return 0


def _guard(name: str, fn) -> object:
    """Run one scenario; any failure becomes an ERROR row, never a silent skip."""
    from . import figures, report

    try:
        return fn()
    except figures.MissingData as error:
        return report.Row(name, error=f"missing data: {error}")
    except Exception as error:  # noqa: BLE001 - reported in the table
        traceback.print_exc()
        return report.Row(name, error=f"{type(error).__name__}: {error}")


def _profiled(name: str, fn, var: Path):
    from pyinstrument import Profiler

    profiler = Profiler()
    profiler.start()
    try:
        return fn()
    finally:
        profiler.stop()
        _write_profile(profiler, var / "profiles" / name)


def _write_profile(profiler, stem: Path) -> None:
    stem.with_suffix(".html").write_text(profiler.output_html())
    stem.with_suffix(".txt").write_text(profiler.output_text(unicode=True))
    print(f"   profile: {stem}.html", file=sys.stderr)


def _page_target():
    """SPEC §9's target for the logged-in investment pages."""
    from .report import Target

    return Target("≥ 40% read", read_ratio=0.4)


class Data:
    """What the scenarios need, found in the seeded database (never assumed)."""

    def __init__(self, args):
        self.args = args
        self.rng = random.Random(2026)
        self._logins: dict[str, list] = {}

    # --- people -----------------------------------------------------------------------------

    def logins(self, group: str) -> list:
        from accounts.models import User
        from investments.models import Investor

        from .sessions import log_in

        if group not in self._logins:
            if group == "investors":
                ids = Investor.objects.filter(user__is_active=True).values_list("user_id")
                users = User.objects.filter(pk__in=ids).order_by("pk")[:PEOPLE]
            else:
                users = User.objects.filter(username__startswith="scale-", is_active=True)
                users = users.order_by("pk")[:PEOPLE]
            users = [u for u in users if u.can_write]
            if not users:
                from .figures import MissingData

                raise MissingData(f"no seeded {group}")
            self._logins[group] = log_in(users)
        return self._logins[group]

    # --- ceilings ---------------------------------------------------------------------------

    def ceiling_read(self) -> list:
        from accounts.models import User

        from .wrk import Request

        ids = list(User.objects.order_by("pk").values_list("pk", flat=True)[:1000])
        return [Request("GET", f"/_bench/read/{pk}/") for pk in ids]

    def ceiling_write(self) -> list:
        from .ceiling import COUNTERS
        from .wrk import Request

        logins = self.logins("people")
        return [
            Request(
                "POST",
                f"/_bench/write/{self.rng.randint(1, COUNTERS)}/",
                login.headers(write=True),
                "",
            )
            for login in logins
        ]

    # --- scenarios --------------------------------------------------------------------------

    def scenario(self, name: str) -> tuple[list, str, object]:
        return getattr(self, name.replace("-", "_"))()

    def _board(self):
        from django.db.models import Sum

        from board.models import Category

        from .figures import MissingData

        boards = (
            Category.objects.filter(parent=None, children__isnull=False)
            .annotate(child_posts=Sum("children__post_count"))
            .order_by("-child_posts")
        )
        board = boards.first()
        if board is None or not board.child_posts:
            raise MissingData("no board with sub-categories and posts (seed the board)")
        return board, board.child_posts + board.post_count

    def _keyword(self) -> str:
        import re

        from board.models import Post

        from .figures import MissingData

        titles = Post.objects.filter(is_active=True).order_by("-pk").values_list("title", flat=True)
        for title in titles[:50]:
            words = sorted(re.findall(r"[^\W\d_]{4,}", title), key=len, reverse=True)
            if words:
                return words[0]
        raise MissingData("no post title with a word to search for")

    def _list(self, *, q: str = "", page: int = 1):
        from .report import Target
        from .wrk import Request

        board, posts = self._board()
        from urllib.parse import quote_plus

        parts = (f"q={quote_plus(q)}" if q else "", f"page={page}" if page > 1 else "")
        query = "&".join(p for p in parts if p)
        path = f"/board/c/{board.slug}/" + (f"?{query}" if query else "")
        pages = -(-posts // 20)
        note = f"/board/c/{board.slug}/ ({posts:,} posts)" + (f", q={q}" if q else "")
        target = Target("≥ 40% read, p99 < 100 ms", read_ratio=0.4, p99_ms=100)
        return [Request("GET", path)], note, target, pages

    def board_list(self):
        requests, note, target, _ = self._list()
        return requests, note, target

    def board_list_deep(self):
        requests, note, target, pages = self._list(page=DEEP_PAGE)
        if pages < DEEP_PAGE:
            from .figures import MissingData

            raise MissingData(f"the board has {pages:,} pages, fewer than {DEEP_PAGE:,}")
        return requests, note + f", page {DEEP_PAGE:,}", target

    def board_list_spread(self):
        """Every request a different page of the board: the cached fragments rarely help."""
        from .wrk import Request

        requests, note, _, pages = self._list()
        rng = random.Random(3)
        numbers = rng.sample(range(1, pages + 1), min(pages, 20_000))
        path = requests[0].path
        return (
            [Request("GET", f"{path}?page={n}") for n in numbers],
            note + f", {len(numbers):,} different pages (mostly cache misses)",
            None,
        )

    def _rare_keyword(self) -> str:
        """A word of the seeding's rare list (about one post in five thousand) that this board
        holds: what FULLTEXT answers from a short posting list."""
        from board import scale, selectors

        from .figures import MissingData

        board, _ = self._board()
        for word in scale.RARE:
            if word.isascii() and selectors.search(category=board, q=word).page.total >= 20:
                return word
        raise MissingData("no rare word with 20 matches in the board")

    def board_search(self):
        requests, note, target, _ = self._list(q=self._rare_keyword())
        return requests, note + " (a rare word)", target

    def board_search_common(self):
        requests, note, target, _ = self._list(q=self._keyword())
        return requests, note + " (a word of a recent title: common in the seeded text)", target

    def board_search_deep(self):
        from board.selectors import PAGE_SIZE, SEARCH_COUNT_CAP

        last = SEARCH_COUNT_CAP // PAGE_SIZE  # a search lists at most this many pages
        requests, note, target, _ = self._list(q=self._keyword(), page=last)
        note += f", page {last:,}: its last (a search lists ≤ {SEARCH_COUNT_CAP:,} matches)"
        return requests, note, target

    def _two_words(self) -> str:
        """An English and a Korean word of one recent title: two common words, both required."""
        import re

        from board.models import Post

        from .figures import MissingData

        titles = Post.objects.filter(is_active=True).order_by("-pk").values_list("title", flat=True)
        for title in titles[:200]:
            words = re.findall(r"[^\W\d_]{2,}", title)
            english = sorted((w for w in words if w.isascii() and len(w) >= 4), key=len)
            korean = sorted((w for w in words if not w.isascii()), key=len)
            if english and korean:
                return f"{english[-1]} {korean[-1]}"
        raise MissingData("no recent title with an English and a Korean word")

    def board_search_two(self):
        q = self._two_words()
        requests, note, target, _ = self._list(q=q)
        return requests, note + " (two words of a recent title, both required)", target

    def board_search_spread(self):
        """A different search every request: each word of the seeded text, pages 1 to 10, in a
        random order, so the cached results rarely help (what a search costs the index)."""
        from urllib.parse import quote_plus

        from board import scale

        from .wrk import Request

        board, posts = self._board()
        searches = [(word, page) for word in scale.WORDS for page in range(1, 11)]
        random.Random(5).shuffle(searches)
        path = f"/board/c/{board.slug}/"
        requests = [Request("GET", f"{path}?q={quote_plus(w)}&page={n}") for w, n in searches]
        note = (
            f"{path} ({posts:,} posts), {len(requests):,} different searches (each word of the "
            "seeded text, pages 1-10: mostly cache misses)"
        )
        return requests, note, None

    def _post_ids(self, limit: int) -> list[int]:
        from board.models import Post

        from .figures import MissingData

        ids = list(
            Post.objects.filter(is_active=True).order_by("-pk").values_list("pk", flat=True)[:limit]
        )
        if not ids:
            raise MissingData("no posts (seed the board)")
        return ids

    def post_cached(self):
        from board import selectors

        from .report import Target
        from .wrk import Request

        ids = self._post_ids(50)
        for pk in ids:  # warm the cache the server reads (the same Redis)
            selectors.post_detail(pk)
        note = f"{len(ids)} posts, cache warmed first"
        target = Target("≥ 60% read", read_ratio=0.6)
        return [Request("GET", f"/board/p/{pk}/") for pk in ids], note, target

    def post_uncached(self):
        from django.core.cache import cache

        from board.services import post_cache_key

        from .wrk import Request

        ids = self._post_ids(200_000)
        self.rng.shuffle(ids)
        for start in range(0, len(ids), 5_000):
            cache.delete_many([post_cache_key(pk) for pk in ids[start : start + 5_000]])
        note = f"{len(ids):,} posts, cache emptied first (repeats after {len(ids):,} requests hit)"
        return [Request("GET", f"/board/p/{pk}/") for pk in ids], note, None

    def _board_writes(self, action: str, body: str) -> tuple[list, list, list]:
        """One HTMX POST to ``/board/p/<id>/<action>/`` per logged-in person, on the newest
        thousand posts: (requests, logins, post ids)."""
        from .wrk import Request

        ids = self._post_ids(1_000)
        logins = self.logins("people")
        requests = [
            Request(
                "POST",
                f"/board/p/{self.rng.choice(ids)}/{action}/",
                login.headers(write=True, htmx=True),
                body,
            )
            for login in logins
        ]
        return requests, logins, ids

    def vote(self):
        from .report import Target

        requests, logins, ids = self._board_writes("vote", "")
        note = f"HTMX; {len(logins):,} people x {len(ids):,} posts, toggling"
        return requests, note, Target("≥ 40% write", write_ratio=0.4)

    def comment(self):
        from .report import Target

        requests, logins, _ = self._board_writes("comment", "content=A+benchmark+comment.")
        note = (
            f"HTMX; spread over {len(logins):,} people (limit: 20 comments a minute each, "
            "left as it is)"
        )
        return requests, note, Target("≥ 40% write", write_ratio=0.4)

    def portfolio(self):
        from .wrk import Request

        logins = self.logins("investors")
        requests = [Request("GET", "/investments/portfolio/", login.headers()) for login in logins]
        return requests, f"{len(logins):,} investors, live", _page_target()

    def market(self):
        from .wrk import Request

        logins = self.logins("investors")
        requests = [
            Request("GET", "/investments/funds/1/market/", login.headers()) for login in logins
        ]
        note = f"fund 1 (the hot one), {len(logins):,} investors logged in"
        return requests, note, _page_target()

    def order_http(self):
        from .figures import order_plan
        from .report import Target
        from .sessions import log_in
        from .wrk import Request

        plan = order_plan(1, people=PEOPLE // 2)
        buyers, sellers = log_in(plan.buyers), log_in(plan.sellers)
        requests = []
        for n in range(2 * max(len(buyers), len(sellers))):
            side, login = ("buy", buyers[n // 2 % len(buyers)])
            if n % 2:
                side, login = ("sell", sellers[n // 2 % len(sellers)])
            body = f"side={side}&price={plan.price}&quantity=1&idempotency_key={{{{key}}}}"
            requests.append(
                Request(
                    "POST",
                    f"/investments/funds/{plan.fund_id}/market/order/",
                    login.headers(write=True),
                    body,
                )
            )
        note = (
            f"fund {plan.fund_id} at {plan.price:,}: {len(buyers)} buyers, {len(sellers)} sellers "
            f"({sum(plan.shares.values()):,} shares), 1 share each, alternating"
        )
        return requests, note, Target("≥ 40% write", write_ratio=0.4)

    # --- in-process figures -----------------------------------------------------------------

    def bare(self, seconds: float):
        from . import figures, report

        rate, p50, p99 = figures.bare_transactions(seconds)
        return report.Row(
            "bare-transaction",
            rate=rate,
            unit="tx/s",
            p50_ms=p50,
            p99_ms=p99,
            note="in-process, one connection: lock + update + insert, no HTTP",
        )

    def orders(self, count: int):

        from . import figures, report

        run = figures.service_orders(count)
        row = report.Row(
            "order-service",
            rate=run.rate,
            unit="orders/s",
            p50_ms=run.p50_ms,
            p99_ms=run.p99_ms,
            target=report.Target("≥ 500 orders/s", rate=500),
            note=(
                f"market.place_order one at a time, fund 1 at {run.price:,}, each decided "
                f"inline (a batch of one): {run.placed:,} accepted, {run.trades:,} trades, "
                f"{run.refused:,} refused"
            ),
        )
        if run.trades == 0:
            row.error = "no trade was matched"
        return row

    def matcher(self, count: int):
        from django.conf import settings

        from . import figures, report

        run = figures.matcher_run(count)
        row = report.Row(
            "matcher",
            rate=run.rate,
            unit="orders/s",
            target=report.Target("≥ 5,000 orders/s", rate=5_000),
            note=(
                f"investments.matcher, fund 1, from a stream filled first: {run.commands:,} "
                f"orders ({run.placed:,} accepted), {run.trades:,} trades in {run.seconds:.2f} s "
                f"(batches of {settings.MATCHER_BATCH:,}, durable in MariaDB); the postings "
                f"follower beside it was {run.behind:,} events behind at the end, caught up "
                f"{run.caught_up:.2f} s later"
            ),
        )
        if run.placed == 0 or run.trades == 0:
            row.error = "no order was accepted or matched"
        return row

    def rebuild(self, *, wiped: bool = False):
        from . import report
        from .figures import rebuild

        events, seconds = rebuild(wiped=wiped)
        return report.Row(
            "rebuild-wiped" if wiped else "rebuild",
            rate=events / seconds,
            unit="events/s",
            target=report.Target("≥ 50,000 events/s", rate=50_000),
            note=f"replay.rebuild(): {events:,} events in {seconds:.1f} s, "
            + ("orders, trades and holdings emptied first" if wiped else "projections intact"),
        )

    def time_travel(self, samples: int):
        from . import figures, report

        events, times = figures.time_travel(samples)
        return report.Row(
            "time-travel",
            unit="ms",
            p50_ms=figures.median(times),
            p99_ms=figures.percentile(times, 99),
            target=report.Target("p99 < 20 ms", p99_ms=20),
            note=f"selectors.portfolio(at=…): {samples} random investors/moments, "
            f"{events:,} events",
        )

    # --- profiles of one request ------------------------------------------------------------

    def profile_request(self, name: str, var: Path, *, count: int = 20) -> None:
        """Profile ``count`` of the scenario's requests in process, after one unprofiled request
        that loads the templates and opens the connections (a cold first request would show
        mostly imports and template compiling)."""
        from django.test import Client
        from pyinstrument import Profiler

        built = self.ceiling_read() if name.startswith("ceiling") else self.scenario(name)[0]
        client = Client()

        def send(request) -> None:
            headers = {
                k: v for k, v in request.headers.items() if k not in ("Cookie", "Content-Type")
            }
            client.cookies.clear()
            for part in request.headers.get("Cookie", "").split("; "):
                if "=" in part:
                    key, value = part.split("=", 1)
                    client.cookies[key] = value
            client.generic(
                request.method,
                request.path,
                (request.body or "").replace("{{key}}", secrets.token_hex(8)),
                content_type="application/x-www-form-urlencoded",
                headers=headers,
            )

        send(built[0])
        profiler = Profiler()
        profiler.start()
        for n in range(count):
            send(built[(n + 1) % len(built)])
        profiler.stop()
        _write_profile(profiler, var / "profiles" / f"http-{name}")

    # --- the machine ------------------------------------------------------------------------

    def mariadb_version(self) -> str:
        from django.db import connection

        if connection.vendor != "mysql":
            return f"(not used: {connection.vendor})"
        with connection.cursor() as cursor:
            cursor.execute("SELECT VERSION()")
            return cursor.fetchone()[0]

    def redis_version(self) -> str:
        from django.conf import settings

        if not settings.REDIS_URL:
            return "(not used: local memory)"
        from django_redis import get_redis_connection

        return get_redis_connection("default").info().get("redis_version", "?")


if __name__ == "__main__":
    sys.exit(main())
