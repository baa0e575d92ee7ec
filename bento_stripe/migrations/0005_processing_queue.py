"""The events table becomes the processing queue; held rows belong to their connection;
re-routes are durable jobs."""

import django.db.models.deletion
from django.db import migrations, models

from bento_stripe.conf import site_model_label


def held_rows_to_connections(apps, schema_editor):
    """Give each held row the connection that held it: the one of its account and mode, on
    its site (the newest such connection when there were several)."""
    OutboxEvent = apps.get_model("bento_stripe", "OutboxEvent")
    StripeAccount = apps.get_model("bento_stripe", "StripeAccount")
    for row in OutboxEvent.objects.filter(status="held", connection__isnull=True).iterator():
        livemode = bool((row.payload.get("details") or {}).get("livemode"))
        owner = (
            StripeAccount.objects.filter(
                stripe_user_id=row.stripe_account_id, livemode=livemode, site_id=row.site_id
            )
            .order_by("-connected_at", "-pk")
            .first()
        )
        if owner is None:
            row.status = "skipped"
            row.last_error = "Not sent: no connection of its account held it."
        else:
            row.connection_id = owner.pk
            if owner.status != "active":
                row.status = "skipped"
                row.last_error = (
                    "Not sent: the Stripe connection was disconnected before the email was known."
                )
        row.save(update_fields=["connection", "status", "last_error"])


class Migration(migrations.Migration):

    dependencies = [
        migrations.swappable_dependency(site_model_label()),
        ('bento_stripe', '0003_ledger'),
    ]

    operations = [
        migrations.CreateModel(
            name='Reroute',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                ('finished_at', models.DateTimeField(blank=True, db_index=True, null=True, verbose_name='finished at')),
                ('attempts', models.PositiveIntegerField(default=0, verbose_name='attempts')),
                ('last_error', models.TextField(blank=True, verbose_name='last error')),
            ],
            options={
                'verbose_name': 're-route',
                'verbose_name_plural': 're-routes',
                'ordering': ['-created_at', '-pk'],
            },
        ),
        migrations.AddField(
            model_name='outboxevent',
            name='connection',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='bento_stripe.stripeaccount', verbose_name='connection'),
        ),
        migrations.AddField(
            model_name='stripeeventrecord',
            name='claim_owner',
            field=models.CharField(blank=True, max_length=32, verbose_name='claimed by'),
        ),
        migrations.AddField(
            model_name='stripeeventrecord',
            name='claimed_until',
            field=models.DateTimeField(blank=True, null=True, verbose_name='claimed until'),
        ),
        migrations.AddIndex(
            model_name='outboxevent',
            index=models.Index(condition=models.Q(('status', 'held')), fields=['connection', 'stripe_customer_id'], name='bento_stripe_outbox_held'),
        ),
        migrations.AddIndex(
            model_name='stripeeventrecord',
            index=models.Index(condition=models.Q(('status__in', ('received', 'failed'))), fields=['id'], name='bento_stripe_evt_waiting'),
        ),
        migrations.AddIndex(
            model_name='stripeeventrecord',
            index=models.Index(condition=models.Q(('status__in', ('received', 'failed'))), fields=['stripe_account_id', 'livemode', 'id'], name='bento_stripe_evt_waiting_acct'),
        ),
        migrations.AddField(
            model_name='reroute',
            name='account',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='bento_stripe.stripeaccount'),
        ),
        migrations.AddField(
            model_name='reroute',
            name='new_site',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=site_model_label()),
        ),
        migrations.AddField(
            model_name='reroute',
            name='old_site',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=site_model_label()),
        ),
        migrations.RunPython(held_rows_to_connections, migrations.RunPython.noop),
    ]
