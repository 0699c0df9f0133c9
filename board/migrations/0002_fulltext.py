"""A FULLTEXT index for search on MariaDB; SQLite searches with LIKE instead."""

from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "mysql":
        schema_editor.execute(
            "CREATE FULLTEXT INDEX board_post_fulltext ON board_post (title, content)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "mysql":
        schema_editor.execute("DROP INDEX board_post_fulltext ON board_post")


class Migration(migrations.Migration):
    dependencies = [("board", "0001_initial")]
    # DDL cannot run inside a transaction on MariaDB.
    operations = [migrations.RunPython(create_index, drop_index, atomic=False)]
