"""Pay pending royalties to the holders of record (one server at a time)."""

from django.core.management.base import BaseCommand, CommandError

from config.locks import LockHeld
from investments import services


class Command(BaseCommand):
    help = "Distribute every pending royalty pro rata to the holders at its record time."

    def handle(self, *args, **options):
        try:
            done = services.distribute_royalties()
        except LockHeld as error:
            raise CommandError("Another server is distributing royalties right now.") from error
        self.stdout.write(self.style.SUCCESS(f"Distributed {done} royalty payment(s)."))
