"""Stripe App installs: a connection's kind, its token pair (encrypted) and expiry, and the
"needs to be connected again" mark.

SQLite adds a NOT NULL column by remaking the table, which its triggers on and about
``bento_stripe_stripeaccount`` (migrations 0002 and 0007) would break: they are set aside
before the new columns and made again, unchanged, after them.
"""

from django.db import migrations, models

import bento_stripe.fields

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
        ("bento_stripe", "0008_backfill"),
    ]

    operations = [
        migrations.RunPython(_set_triggers_aside, _restore_triggers, elidable=False),
        migrations.AddField(
            model_name="stripeaccount",
            name="access_token_expires_at",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="access token expires at"
            ),
        ),
        migrations.AddField(
            model_name="stripeaccount",
            name="kind",
            field=models.CharField(
                choices=[("connect", "Connect OAuth"), ("app", "Stripe App")],
                default="connect",
                max_length=16,
                verbose_name="kind",
            ),
        ),
        migrations.AddField(
            model_name="stripeaccount",
            name="needs_reconnect",
            field=models.BooleanField(default=False, verbose_name="needs to be connected again"),
        ),
        migrations.AddField(
            model_name="stripeaccount",
            name="refresh_token",
            field=bento_stripe.fields.EncryptedTextField(
                blank=True,
                help_text="Encrypted. A Stripe App connection's refresh token (rolled on each use).",
                verbose_name="refresh token",
            ),
        ),
        migrations.AddField(
            model_name="stripeaccount",
            name="tokens_issued_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="tokens issued at"),
        ),
        migrations.AlterField(
            model_name="stripeaccount",
            name="access_token",
            field=bento_stripe.fields.EncryptedTextField(
                blank=True,
                help_text="Encrypted. A Stripe App connection's current access token; for Connect OAuth stored only when BENTO_STRIPE['STORE_ACCESS_TOKEN'] is on.",
                verbose_name="access token",
            ),
        ),
        migrations.RunPython(_restore_triggers, _set_triggers_aside, elidable=False),
    ]
