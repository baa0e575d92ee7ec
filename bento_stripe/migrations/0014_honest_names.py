"""OutboxEvent.stripe_customer_id holds a charge id for a guest charge's person: renamed
to stripe_person_key. The column keeps its rows; the held rows' index follows the column in
the database (PostgreSQL and SQLite alike), so only Django's record of it is renewed."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("bento_stripe", "0013_catalogue_product_misses"),
    ]

    operations = [
        migrations.RenameField(
            model_name="outboxevent",
            old_name="stripe_customer_id",
            new_name="stripe_person_key",
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="outboxevent", name="bento_stripe_outbox_held"),
                migrations.AddIndex(
                    model_name="outboxevent",
                    index=models.Index(
                        condition=models.Q(("status", "held")),
                        fields=["connection", "stripe_person_key"],
                        name="bento_stripe_outbox_held",
                    ),
                ),
            ],
        ),
        migrations.AlterField(
            model_name="outboxevent",
            name="stripe_person_key",
            field=models.CharField(blank=True, max_length=255, verbose_name="Stripe person key"),
        ),
    ]
