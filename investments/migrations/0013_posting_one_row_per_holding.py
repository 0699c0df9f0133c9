"""Postings carry an investor's cash on their holding's row (``domain.state.postings``), and the
sums index takes the event's number so "my history" walks it too: posting_investor_time goes.
Rows written before stay valid: cash is read as the sum of all of an investor's rows."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('investments', '0012_field_names'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='posting',
            name='posting_investor_time',
        ),
        migrations.RemoveIndex(
            model_name='posting',
            name='posting_investor_sums',
        ),
        migrations.AddIndex(
            model_name='posting',
            index=models.Index(fields=['investor_id', 'occurred_at', 'sequence', 'fund_id', 'available', 'reserved', 'held', 'held_reserved', 'cost_basis'], name='posting_investor_sums'),
        ),
    ]
