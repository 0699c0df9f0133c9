"""Compare the search index with the posts and comments, report every drifted entry and fix it."""

from django.core.management.base import BaseCommand

from board.search import index
from config.scale import progress


class Command(BaseCommand):
    help = (
        "Compare the search index with the posts and comments (a checksum of each row's text, "
        "its board and category); report and fix any entry that is missing, stale or left over."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report drift only.")
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="Empty the index and build it again from the tables (searches find nothing "
            "until it is done).",
        )
        parser.add_argument("--progress", action="store_true", help="Show a progress bar.")

    def handle(self, *args, dry_run=False, rebuild=False, **options):
        bar = None
        if options["progress"]:
            from board.models import Comment, Post

            bar = progress(Post.objects.count() + Comment.objects.count(), "search index")
        update = bar.update if bar else None
        if rebuild:
            drift = index.rebuild(progress=update)
        else:
            drift = index.repair(fix=not dry_run, progress=update)
        if bar:
            bar.close()
        for line in drift.examples:
            self.stdout.write(line)
        verb = "found" if dry_run else "fixed"
        self.stdout.write(
            f"{drift.total} drifted search entr{'y' if drift.total == 1 else 'ies'} {verb}: "
            f"{drift.missing} missing, {drift.stale} stale, {drift.extra} left over."
        )
        if dry_run and drift.total:
            raise SystemExit(1)
