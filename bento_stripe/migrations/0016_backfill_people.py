"""The backfill's last step, ``people``: every person of the connection recomputed once.

Choices only: nothing changes in the database.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bento_stripe', '0015_leaner_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='backfillcursor',
            name='resource',
            field=models.CharField(choices=[('products', 'Products'), ('prices', 'Prices'), ('customers', 'Customers'), ('charges', 'Charges'), ('disputes', 'Disputes'), ('subscriptions', 'Subscriptions'), ('invoices', 'Invoices'), ('people', "People's fields"), ('events', 'Events (reconciliation)')], max_length=16, verbose_name='resource'),
        ),
    ]
