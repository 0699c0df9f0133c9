"""Send a request's reads to a replica when one is configured and the person has no write it has
not applied yet (``config.replicas``); writes, reads inside a transaction and everything outside a
request (commands, matchers) stay on the primary, so a write never decides on a lagging copy."""

from django.db import connections

from . import replicas


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        if connections["default"].in_atomic_block:
            return "default"
        reads = replicas.current()
        return "default" if reads is None else reads.choose()

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        # Every alias holds the same data.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
