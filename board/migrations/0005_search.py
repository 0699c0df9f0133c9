"""The search index (board.search): a Mroonga table on MariaDB, an FTS5 table on SQLite, filled
from the posts and comments there are. It replaces InnoDB's FULLTEXT index of 0002."""

import sys

from django.db import migrations, models


def create_index(apps, schema_editor):
    from board.search import index

    connection = schema_editor.connection
    if connection.vendor == "mysql":
        index.ensure_mroonga(connection)
        schema_editor.execute("DROP INDEX IF EXISTS board_post_fulltext ON board_post")
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT COUNT(*) FROM board_post) + (SELECT COUNT(*) FROM board_comment)")
        rows = int(cursor.fetchone()[0])
    bar = None
    if rows > 10_000:  # a big board: say how far building the index has got
        from config.scale import progress

        bar = progress(rows, "search index: posts, then comments")
    index.rebuild(progress=bar.update if bar else None)
    if bar:
        bar.close()
        print(file=sys.stderr)


def drop_index(apps, schema_editor):
    from board.search import index

    index.engine(schema_editor.connection.alias).drop()
    if schema_editor.connection.vendor == "mysql":
        schema_editor.execute(
            "CREATE FULLTEXT INDEX board_post_fulltext ON board_post (title, content)"
        )


class Migration(migrations.Migration):
    dependencies = [("board", "0004_moderation_delete"), ("accounts", "0002_statechange_role")]

    # DDL cannot run inside a transaction on MariaDB; the table is made by hand (an FTS5 virtual
    # table or a Mroonga one), so Django is only told about it.
    atomic = False
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(create_index, drop_index, atomic=False)],
            state_operations=[
                migrations.CreateModel(
                    name="SearchEntry",
                    fields=[
                        ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                        ("post_id", models.BigIntegerField()),
                        ("board_id", models.BigIntegerField()),
                        ("category_id", models.BigIntegerField()),
                        ("author_id", models.BigIntegerField()),
                        ("created", models.BigIntegerField()),
                        ("crc", models.BigIntegerField()),
                        ("title", models.TextField()),
                        ("body", models.TextField()),
                        ("author", models.TextField()),
                        ("initials", models.TextField()),
                    ],
                    options={"db_table": "board_search"},
                ),
            ],
        ),
    ]
