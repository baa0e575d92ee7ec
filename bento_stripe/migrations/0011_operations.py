"""Operations: retention's compact event records, erasure markers, the health check's index.

SQLite adds the NOT NULL ``has_erasures`` column by remaking ``bento_stripe_stripeaccount``,
which its triggers (migrations 0002 and 0007) would break: they are set aside before the
column and made again, unchanged, after it (as in 0009).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

#: The SQLite triggers set aside while the table is remade (name -> CREATE statement).
_SET_ASIDE: dict[str, str] = {}


def _set_triggers_aside(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND "
            "(tbl_name = 'bento_stripe_stripeaccount' OR sql LIKE '%bento_stripe_stripeaccount%')"
        )
        rows = cursor.fetchall()
    for name, sql in rows:
        _SET_ASIDE[name] = sql
        schema_editor.execute(f'DROP TRIGGER IF EXISTS "{name}"')


def _restore_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for name in list(_SET_ASIDE):
        schema_editor.execute(_SET_ASIDE.pop(name))


class Migration(migrations.Migration):
    dependencies = [
        ("bento_stripe", "0010_catalogue"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ErasureMarker",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "stripe_account_id",
                    models.CharField(max_length=255, verbose_name="Stripe account"),
                ),
                ("livemode", models.BooleanField(default=False, verbose_name="live mode")),
                (
                    "customer_id",
                    models.CharField(blank=True, max_length=255, verbose_name="Stripe customer"),
                ),
                ("email_digest", models.CharField(max_length=64, verbose_name="email digest")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="erased at")),
            ],
            options={
                "verbose_name": "erasure marker",
                "verbose_name_plural": "erasure markers",
                "ordering": ["-created_at", "-pk"],
            },
        ),
        migrations.RunPython(_set_triggers_aside, _restore_triggers, elidable=False),
        migrations.AddField(
            model_name="stripeaccount",
            name="has_erasures",
            field=models.BooleanField(
                default=False, editable=False, verbose_name="has erasure markers"
            ),
        ),
        migrations.RunPython(_restore_triggers, _set_triggers_aside, elidable=False),
        migrations.AddField(
            model_name="stripeeventrecord",
            name="pruned_at",
            field=models.DateTimeField(
                blank=True, db_index=True, null=True, verbose_name="pruned at"
            ),
        ),
        migrations.AddIndex(
            model_name="outboxevent",
            index=models.Index(
                condition=models.Q(("status__in", ["pending", "sending", "failed"])),
                fields=["created_at"],
                name="bento_stripe_outbox_undeliv",
            ),
        ),
        migrations.AddField(
            model_name="erasuremarker",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="erased by",
            ),
        ),
        migrations.AddIndex(
            model_name="erasuremarker",
            index=models.Index(
                fields=["stripe_account_id", "livemode"], name="bento_stripe_erasure_acct"
            ),
        ),
        migrations.AddConstraint(
            model_name="erasuremarker",
            constraint=models.UniqueConstraint(
                fields=("stripe_account_id", "livemode", "customer_id", "email_digest"),
                name="bento_stripe_erasure_unique",
            ),
        ),
    ]
