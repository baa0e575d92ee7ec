"""The outbox's indexes fit what delivery looks for.

A delivery loop asks many times a second which sites have rows due, and every send
claims its rows with the same condition. Those lookups went through the full indexes of
``status`` and ``next_attempt_at``, which hold every delivered row too: their cost grew
with the table (15 to 25 ms a lookup after a 10,000-event burst on PostgreSQL, most of
the database's time in the bench). Now:

* ``bento_stripe_outbox_due`` (pending rows by their time) and
  ``bento_stripe_outbox_lapsed`` (sending rows by their lease) hold only the rows that
  can be due;
* ``bento_stripe_outbox_queue`` is each site's queue in order (the next batch is its head),
  for pending and sending rows; it replaces the index of (site, status, next attempt);
* ``bento_stripe_outbox_open`` holds the rows not delivered or skipped, by site and status:
  the health check's count of dead rows, the metrics' counts per site and status, and
  ``bento_stripe_replay --failed``.

Every index of the table is written on each status change (a status change cannot be a
heap-only update), so these go: ``status``'s own index and its ``varchar_pattern_ops``
twin, ``next_attempt_at``'s, ``site``'s (the dedupe constraint's index starts with the
site; only the index goes, not the foreign key, whose check would read every row under a
lock on the site table), and on PostgreSQL the ``varchar_pattern_ops`` twins of ``email``, ``event_type``
and ``stripe_event_id`` (nothing looks up an outbox row by prefix; Django does not track
the twins, so the model is unchanged there and migrating back builds them again).
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

from bento_stripe.conf import site_model_label

TABLE = "bento_stripe_outboxevent"
#: The columns whose ``varchar_pattern_ops`` twin goes.
TWINS = ("email", "event_type", "stripe_event_id")


def _twins(schema_editor) -> list[str]:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s"
            " AND indexdef LIKE %s AND schemaname = current_schema()",
            [TABLE, "%varchar_pattern_ops%"],
        )
        return [row[0] for row in cursor.fetchall()]


def _column_of(index: str) -> str:
    return next((c for c in TWINS if f"_{c}_" in index), "")


def drop_twins(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    for name in _twins(schema_editor):
        if _column_of(name):
            schema_editor.execute(f"DROP INDEX IF EXISTS {quote(name)}")


def build_twins(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("bento_stripe", "OutboxEvent")
    present = {_column_of(name) for name in _twins(schema_editor)}
    for column in TWINS:
        field = model._meta.get_field(column)
        statement = schema_editor._create_like_index_sql(model, field)
        if statement is not None and column not in present:
            schema_editor.execute(statement)


def _site_indexes(schema_editor) -> list[str]:
    """The outbox's plain indexes of ``site_id`` alone (the foreign key's own index)."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return [
        name
        for name, c in constraints.items()
        if c["index"] and not c["unique"] and not c["primary_key"] and c["columns"] == ["site_id"]
    ]


def drop_site_index(apps, schema_editor) -> None:
    for name in _site_indexes(schema_editor):
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def build_site_index(apps, schema_editor) -> None:
    if _site_indexes(schema_editor):
        return
    model = apps.get_model("bento_stripe", "OutboxEvent")
    field = model._meta.get_field("site")
    schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))


class Migration(migrations.Migration):
    dependencies = [
        ("bento_stripe", "0016_backfill_people"),
        migrations.swappable_dependency(site_model_label()),
    ]

    operations = [
        migrations.RunPython(drop_twins, build_twins, elidable=False),
        migrations.RemoveIndex(
            model_name="outboxevent",
            name="bento_strip_site_id_d165b1_idx",
        ),
        migrations.AlterField(
            model_name="outboxevent",
            name="next_attempt_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, verbose_name="next attempt at"
            ),
        ),
        # Only the site's own index goes: an AlterField would drop and re-add the foreign
        # key, whose check reads every outbox row under a lock on the host's site table.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="outboxevent",
                    name="site",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="bento_outbox",
                        to=site_model_label(),
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_site_index, build_site_index, elidable=False),
            ],
        ),
        migrations.AlterField(
            model_name="outboxevent",
            name="status",
            field=models.CharField(
                choices=[
                    ("held", "Held (no email yet)"),
                    ("pending", "Pending"),
                    ("sending", "Sending"),
                    ("delivered", "Delivered"),
                    ("failed", "Failed"),
                    ("dead", "Dead (attempts exhausted)"),
                    ("skipped", "Skipped"),
                ],
                default="pending",
                max_length=16,
                verbose_name="status",
            ),
        ),
        migrations.AddIndex(
            model_name="outboxevent",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["next_attempt_at"],
                name="bento_stripe_outbox_due",
            ),
        ),
        migrations.AddIndex(
            model_name="outboxevent",
            index=models.Index(
                condition=models.Q(("status", "sending")),
                fields=["lease_expires_at"],
                name="bento_stripe_outbox_lapsed",
            ),
        ),
        migrations.AddIndex(
            model_name="outboxevent",
            index=models.Index(
                condition=models.Q(("status__in", ["pending", "sending"])),
                fields=["site", "created_at", "id"],
                name="bento_stripe_outbox_queue",
            ),
        ),
        migrations.AddIndex(
            model_name="outboxevent",
            index=models.Index(
                condition=models.Q(
                    ("status__in", ["pending", "sending", "failed", "held", "dead"])
                ),
                fields=["site", "status"],
                name="bento_stripe_outbox_open",
            ),
        ),
    ]
