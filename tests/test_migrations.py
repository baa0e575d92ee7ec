"""Migrations that rename keep the rows' values, both ways."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from bento_stripe.models import OutboxEvent
from tests.factories import OutboxEventFactory

BEFORE = [("bento_stripe", "0013_catalogue_product_misses")]
AFTER = [("bento_stripe", "0014_honest_names")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_honest_names_keeps_each_rows_person_key():
    held = OutboxEventFactory(status=OutboxEvent.Status.HELD, stripe_person_key="ch_guest1")
    other = OutboxEventFactory(stripe_person_key="cus_1")
    try:
        old = _migrate(BEFORE).get_model("bento_stripe", "OutboxEvent")
        assert dict(old.objects.values_list("pk", "stripe_customer_id")) == {
            held.pk: "ch_guest1",
            other.pk: "cus_1",
        }
        new = _migrate(AFTER).get_model("bento_stripe", "OutboxEvent")
        assert dict(new.objects.values_list("pk", "stripe_person_key")) == {
            held.pk: "ch_guest1",
            other.pk: "cus_1",
        }
    finally:
        _migrate(AFTER)
    # The held rows' index is found by its new column, as before.
    assert (
        OutboxEvent.objects.filter(
            connection=held.connection, status="held", stripe_person_key="ch_guest1"
        ).get()
        == held
    )
