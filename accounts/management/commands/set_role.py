"""Give a person a role from the shell, under the same rules as the admin (recorded in their state
history; the last admin stays)."""

from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import User


class Command(BaseCommand):
    help = "Make a person a member, staff or admin: set_role <username> <role> [--reason TEXT]."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", help=", ".join(User.Role.values))
        parser.add_argument("--reason", default="", help="Why; kept in the state history.")

    def handle(self, *args, username, role, reason, **options):
        person = User.objects.filter(username__iexact=username, deleted_at__isnull=True).first()
        if person is None:
            raise CommandError(f"No person is called {username!r}.")
        try:
            person = services.change_role(user_id=person.pk, role=role, by=None, reason=reason)
        except services.AccountError as error:
            raise CommandError(error.message) from None
        self.stdout.write(self.style.SUCCESS(f"{person.username} is now {person.role}."))
