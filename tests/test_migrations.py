"""Migrations that rename keep the rows' values, both ways; the event table's indexes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from bento_stripe.models import OutboxEvent
from tests.factories import OutboxEventFactory

BEFORE = [("bento_stripe", "0013_catalogue_product_misses")]
AFTER = [("bento_stripe", "0014_honest_names")]


def _latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes("bento_stripe")


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
        _migrate(_latest())
    # The held rows' index is found by its new column, as before.
    assert (
        OutboxEvent.objects.filter(
            connection=held.connection, status="held", stripe_person_key="ch_guest1"
        ).get()
        == held
    )


def _event_indexes(table: str = "bento_stripe_stripeeventrecord") -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return dict(cursor.fetchall())


OUTBOX = "bento_stripe_outboxevent"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_event_table_keeps_only_the_indexes_it_reads_by():
    """No ``varchar_pattern_ops`` twins and no index of ``status`` alone: ten, not fifteen;
    migrating back builds them again, and forward drops them again."""
    latest = _event_indexes()
    assert len(latest) == 10
    assert not [d for d in latest.values() if "varchar_pattern_ops" in d]
    assert not [d for d in latest.values() if d.endswith("(status)")]
    try:
        _migrate([("bento_stripe", "0014_honest_names")])
        before = _event_indexes()
        assert len(before) == 15
        assert len([d for d in before.values() if "varchar_pattern_ops" in d]) == 4
    finally:
        _migrate(_latest())
    assert _event_indexes() == latest


def _full(indexes: dict[str, str]) -> set[str]:
    """The indexes every row enters (no ``WHERE``): what a delivered row costs each write."""
    return {name for name, definition in indexes.items() if " WHERE " not in definition}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_outbox_keeps_only_the_indexes_delivery_reads_by():
    """A delivered row enters seven indexes, not fifteen; delivery's lookups have partial
    indexes of their own; migrating back builds the old ones again, forward drops them."""
    latest = _event_indexes(OUTBOX)
    assert len(_full(latest)) == 7
    assert not [d for d in latest.values() if "varchar_pattern_ops" in d]
    assert {"bento_stripe_outbox_due", "bento_stripe_outbox_lapsed"} <= latest.keys()
    assert "bento_stripe_outbox_queue" in latest
    try:
        _migrate([("bento_stripe", "0016_backfill_people")])
        before = _event_indexes(OUTBOX)
        assert len(_full(before)) == 15
        assert len([d for d in before.values() if "varchar_pattern_ops" in d]) == 4
        site_key = _site_foreign_key()
    finally:
        _migrate(_latest())
    assert _event_indexes(OUTBOX) == latest
    # Only the site's index went: its foreign key was not dropped and added again (that
    # would check every row under a lock on the site table).
    assert _site_foreign_key() == site_key


def _site_foreign_key() -> int:
    """The object id of the outbox's foreign key to the site table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.oid FROM pg_constraint c JOIN pg_attribute a"
            " ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)"
            " WHERE c.conrelid = %s::regclass AND c.contype = 'f' AND a.attname = 'site_id'",
            [OUTBOX],
        )
        (oid,) = cursor.fetchone()
    return oid
