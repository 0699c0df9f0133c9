"""Lighter writes for the matcher and the rebuild, each keeping what a reader needs:

- postings carry an investor's cash on their holding's row (``domain.state.postings``), and the
  sums index takes the event's number so that "my history" walks it too: posting_investor_time
  goes. Rows written before stay valid: cash is read as the sum of all of an investor's rows;
- an event's actor keeps its relation without a constraint or an index (see ``Event.actor``);
- order_fund_sequence lost its reader when the matcher began to keep its place by a version
  (``MatcherCheckpoint``); orders by fund use order_book;
- a trade's sides keep their relations without constraints or indexes (see ``Trade``)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('investments', '0012_field_names'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='order',
            name='order_fund_sequence',
        ),
        migrations.RemoveIndex(
            model_name='posting',
            name='posting_investor_time',
        ),
        migrations.RemoveIndex(
            model_name='posting',
            name='posting_investor_sums',
        ),
        migrations.AlterField(
            model_name='event',
            name='actor',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='actor'),
        ),
        migrations.AlterField(
            model_name='trade',
            name='buy_order',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='investments.order', verbose_name='buy order'),
        ),
        migrations.AlterField(
            model_name='trade',
            name='buyer',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='investments.investor', verbose_name='buyer'),
        ),
        migrations.AlterField(
            model_name='trade',
            name='sell_order',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='investments.order', verbose_name='sell order'),
        ),
        migrations.AlterField(
            model_name='trade',
            name='seller',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='investments.investor', verbose_name='seller'),
        ),
        migrations.AddIndex(
            model_name='posting',
            index=models.Index(fields=['investor_id', 'occurred_at', 'sequence', 'fund_id', 'available', 'reserved', 'held', 'held_reserved', 'cost_basis'], name='posting_investor_sums'),
        ),
    ]
