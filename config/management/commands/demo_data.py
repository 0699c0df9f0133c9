"""Load demo data for every part of the site. Safe to run again: nothing is duplicated."""

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import demo as accounts_demo
from board import demo as board_demo
from investments import demo as investments_demo
from investments import matcher


class Command(BaseCommand):
    help = "Create demo people, board content and investment data (idempotent)."

    def handle(self, *args, **options):
        with transaction.atomic(), matcher.inline():
            people = accounts_demo.load(self.stdout)
            board_demo.load(self.stdout, people)
            investments_demo.load(self.stdout, people)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write("Log in at http://127.0.0.1:8000/accounts/login/ with:")
        for username, _, role in accounts_demo.DEMO_USERS:
            self.stdout.write(f"  {username:<10} {accounts_demo.DEMO_PASSWORD}   ({role.label})")
