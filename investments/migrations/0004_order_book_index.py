# The order-book index also carries `remaining`, so the book's sums per price read no rows.
# Added before the old one goes: InnoDB keeps the fund foreign key on one of them throughout.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("investments", "0003_postings"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                fields=["fund", "status", "side", "price", "sequence", "remaining"],
                name="order_book",
            ),
        ),
        migrations.RemoveIndex(
            model_name="order",
            name="investments_fund_id_aedd03_idx",
        ),
    ]
