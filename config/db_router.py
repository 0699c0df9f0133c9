"""Send reads to the replica when one is configured; writes and reads inside a transaction stay on
the primary, so a write never reads its own data from a lagging replica."""

from django.conf import settings
from django.db import connections


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        if "replica" not in settings.DATABASES:
            return "default"
        if connections["default"].in_atomic_block:
            return "default"
        return "replica"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same data.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
