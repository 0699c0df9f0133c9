"""Recompute the board's stored counts from source rows, report drift and fix it."""

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from board.models import Category, Comment, CommentVote, Post, PostVote


def _sub(model, fk, extra=None):
    qs = model.objects.filter(**{fk: OuterRef("pk")}, **(extra or {}))
    return Coalesce(Subquery(qs.order_by().values(fk).annotate(n=Count("pk")).values("n")[:1]), 0)


class Command(BaseCommand):
    help = "Recompute post/comment/vote counts from source rows; report and fix any drift."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report drift only.")

    def handle(self, *args, dry_run=False, **options):
        checks = [
            (Post, "comment_count", _sub(Comment, "post", {"is_active": True})),
            (Post, "vote_count", _sub(PostVote, "post")),
            (Comment, "vote_count", _sub(CommentVote, "comment")),
            (Category, "post_count", _sub(Post, "category", {"is_active": True})),
        ]
        drift = 0
        for model, field, expected in checks:
            with transaction.atomic():
                wrong = (
                    model.objects.annotate(expected=expected)
                    .filter(~Q(**{field: F("expected")}))
                    .values_list("pk", field, "expected")
                )
                for pk, stored, real in wrong:
                    drift += 1
                    self.stdout.write(
                        f"{model.__name__} {pk} {field}: stored {stored}, real {real}"
                    )
                    if not dry_run:
                        model.objects.filter(pk=pk).update(**{field: real})
        verb = "found" if dry_run else "fixed"
        self.stdout.write(f"{drift} drifted count(s) {verb}.")
