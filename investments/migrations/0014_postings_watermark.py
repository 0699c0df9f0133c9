"""The postings' watermark (``investments.postings``): until now every event's postings were
written with it, so the watermark starts at the log's last event."""

from django.db import migrations, models
from django.db.models import Max


def start_at_the_log_end(apps, schema_editor):
    Event = apps.get_model("investments", "Event")
    PostingWatermark = apps.get_model("investments", "PostingWatermark")
    last = Event.objects.aggregate(last=Max("sequence"))["last"] or 0
    PostingWatermark.objects.update_or_create(pk=1, defaults={"sequence": last})


class Migration(migrations.Migration):
    dependencies = [
        ("investments", "0013_lighter_writes"),
    ]

    operations = [
        migrations.CreateModel(
            name="PostingWatermark",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sequence", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(start_at_the_log_end, migrations.RunPython.noop),
    ]
