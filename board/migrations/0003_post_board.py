"""Store each post's top-level board on the post, so a board's list is one index range."""

import django.db.models.deletion
from django.db import migrations, models


def fill_board(apps, schema_editor):
    Post = apps.get_model("board", "Post")
    Category = apps.get_model("board", "Category")
    for category in Category.objects.all():
        Post.objects.filter(category=category).update(board_id=category.parent_id or category.pk)


class Migration(migrations.Migration):
    dependencies = [("board", "0002_fulltext")]

    operations = [
        migrations.AddField(
            model_name="post",
            name="board",
            field=models.ForeignKey(
                null=True,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="board.category",
            ),
        ),
        migrations.RunPython(fill_board, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="post",
            index=models.Index(
                fields=["board", "is_active", "-id"], name="post_board_list_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="post",
            index=models.Index(fields=["is_active", "-id"], name="post_site_list_idx"),
        ),
        migrations.AlterField(
            model_name="post",
            name="board",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="board.category",
            ),
        ),
    ]
