"""Fewer indexes on the event table, one for lost disputes.

The event table takes a row per Stripe event and two updates of its status; every index
on it is written each time (a status change cannot be a heap-only update). It had fifteen:
* ``status`` had its own index and its ``varchar_pattern_ops`` twin. The waiting statuses
  are served by the two partial queue indexes; every other status is nearly every row.
  Both go (the field's ``db_index``).
* ``stripe_event_id``, ``event_type`` and ``stripe_account_id`` each had, beside their
  index, a ``varchar_pattern_ops`` twin that PostgreSQL builds for ``LIKE 'prefix%'``. The
  app's only prefix lookup (the API's type filter) always comes with the connection's
  account, whose index serves it; the admin's searches are ``icontains``, which no btree
  serves. The twins go, on PostgreSQL only (SQLite has none); Django does not track them,
  so the model is unchanged, and migrating back builds them again.

A person's value reads the lost disputes of their charges (``ledger.people``): a partial
index of the lost ones by account and charge, small since few disputes are lost.
"""

from django.db import migrations, models

TABLE = "bento_stripe_stripeeventrecord"
#: The columns whose ``varchar_pattern_ops`` twin goes.
TWINS = ("stripe_event_id", "event_type", "stripe_account_id")


def _twins(schema_editor) -> list[str]:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s"
            " AND indexdef LIKE %s AND schemaname = current_schema()",
            [TABLE, "%varchar_pattern_ops%"],
        )
        return [row[0] for row in cursor.fetchall()]


def drop_twins(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    for name in _twins(schema_editor):
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(name)}")


def build_twins(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("bento_stripe", "StripeEventRecord")
    present = set(_twins(schema_editor))
    for column in TWINS:
        field = model._meta.get_field(column)
        statement = schema_editor._create_like_index_sql(model, field)
        if statement is not None and str(statement.parts["name"]).strip('"') not in present:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("bento_stripe", "0014_honest_names"),
    ]

    operations = [
        migrations.AlterField(
            model_name="stripeeventrecord",
            name="status",
            field=models.CharField(
                choices=[
                    ("received", "Received (waiting for the task)"),
                    ("processed", "Processed"),
                    ("ignored", "Ignored (not forwarded)"),
                    ("failed", "Failed (will be retried)"),
                ],
                default="received",
                max_length=16,
                verbose_name="status",
            ),
        ),
        migrations.RunPython(drop_twins, build_twins, elidable=False),
        migrations.AddIndex(
            model_name="ledgerdispute",
            index=models.Index(
                condition=models.Q(("lost", True)),
                fields=["stripe_account_id", "livemode", "charge_id"],
                name="bento_stripe_dispute_lost",
            ),
        ),
    ]
