"""order_fund_sequence lost its reader when the matcher began to keep its place by a version
(``MatcherCheckpoint``); every order paid for it. Orders by fund use order_book."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('investments', '0014_event_actor_unindexed'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='order',
            name='order_fund_sequence',
        ),
    ]
