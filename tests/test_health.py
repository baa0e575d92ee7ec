"""stripe/health/ in each state, its pinned query count, and stripe/metrics/ parsed with
prometheus_client's own parser."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from bento_stripe.api_tokens import create_token
from bento_stripe.models import BackfillCursor, OutboxEvent, StripeAccount, StripeEventRecord
from bento_stripe.webhooks.views import record_once

from .factories import MembershipFactory, OutboxEventFactory, StripeAccountFactory, UserFactory
from .stripe_events import load

pytestmark = pytest.mark.django_db

HEALTH = "/stripe/health/"
METRICS = "/stripe/metrics/"


@pytest.fixture(autouse=True)
def running_cluster(db):
    """A qcluster keeps the app's schedules on time (their next run is now)."""
    from django_q.models import Schedule

    from bento_stripe import queue

    queue.ensure_schedules()
    Schedule.objects.update(next_run=timezone.now())


@pytest.fixture
def superuser_client():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _reconciled(account) -> None:
    BackfillCursor.objects.create(
        account=account,
        resource=BackfillCursor.Resource.EVENTS,
        state=BackfillCursor.State.DONE,
        finished_at=timezone.now(),
    )


def test_ok_for_anyone_with_only_the_status():
    response = Client().get(HEALTH)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_staff_see_every_check(superuser_client):
    body = superuser_client.get(HEALTH).json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {
        "database",
        "broker",
        "scheduler_late_seconds",
        "oldest_waiting_event_seconds",
        "oldest_undelivered_seconds",
        "dead_deliveries",
        "failed_events",
        "connections_to_reconnect",
        "last_reconciliation",
    }
    assert all(c["status"] == "ok" for c in body["checks"].values())


def test_a_stopped_worker_turns_it_degraded(superuser_client, account):
    # No worker runs here (no sync mode, no qcluster): the recorded event waits.
    assert record_once(load("charge_succeeded"))
    assert superuser_client.get(HEALTH).json()["status"] == "ok"  # just arrived
    StripeEventRecord.objects.update(received_at=timezone.now() - timedelta(minutes=10))
    response = superuser_client.get(HEALTH)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    check = body["checks"]["oldest_waiting_event_seconds"]
    assert check["status"] == "degraded" and check["value"] >= 600
    assert "worker" in check["detail"]


def test_a_stopped_qcluster_turns_it_degraded_even_without_traffic(superuser_client):
    from django_q.models import Schedule

    Schedule.objects.update(next_run=timezone.now() - timedelta(minutes=10))
    body = superuser_client.get(HEALTH).json()
    assert body["status"] == "degraded"
    check = body["checks"]["scheduler_late_seconds"]
    assert check["status"] == "degraded" and "qcluster" in check["detail"]
    Schedule.objects.all().delete()  # never migrated
    assert (
        "migrate"
        in superuser_client.get(HEALTH).json()["checks"]["scheduler_late_seconds"]["detail"]
    )


def test_an_unreachable_database_turns_it_down():
    with mock.patch.object(
        connection, "cursor", side_effect=OperationalError("could not connect to server")
    ):
        response = Client().get(HEALTH)
    assert response.status_code == 503
    assert response.json() == {"status": "down"}


@pytest.mark.parametrize(
    ("setup", "check"),
    [
        (
            lambda a: OutboxEventFactory(site=a.site, status=OutboxEvent.Status.DEAD),
            "dead_deliveries",
        ),
        (
            lambda a: OutboxEventFactory(
                site=a.site,
                status=OutboxEvent.Status.PENDING,
                created_at=timezone.now() - timedelta(hours=1),
            ),
            "oldest_undelivered_seconds",
        ),
        (
            lambda a: StripeAccount.objects.filter(pk=a.pk).update(needs_reconnect=True),
            "connections_to_reconnect",
        ),
        (
            lambda a: StripeAccount.objects.filter(pk=a.pk).update(
                connected_at=timezone.now() - timedelta(days=5)
            ),
            "last_reconciliation",
        ),
    ],
)
def test_each_problem_turns_it_degraded(superuser_client, account, setup, check):
    _reconciled(account) if check != "last_reconciliation" else None
    assert superuser_client.get(HEALTH).json()["status"] == "ok"
    setup(account)
    body = superuser_client.get(HEALTH).json()
    assert body["status"] == "degraded"
    assert [n for n, c in body["checks"].items() if c["status"] != "ok"] == [check]


def test_an_unreachable_redis_broker_is_degraded(superuser_client, settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": "redis://127.0.0.1:1/0", "sync": False}
    body = superuser_client.get(HEALTH).json()
    assert body["status"] == "degraded"
    assert body["checks"]["broker"]["status"] == "degraded"


def test_health_costs_a_handful_of_queries(superuser_client, account, django_assert_num_queries):
    for i in range(30):
        OutboxEventFactory(site=account.site, status=OutboxEvent.Status.PENDING)
        record_once({**load("charge_succeeded"), "id": f"evt_h{i}"})
    _reconciled(account)
    # session + user (2), then one query per check: SELECT 1, schedules, waiting events,
    # undelivered, dead, failed events, reconnect, reconciliation (a superuser needs no
    # policy query). The count does not grow with the rows.
    with django_assert_num_queries(10):
        assert superuser_client.get(HEALTH).status_code == 200


def test_team_staff_and_tokens_see_the_checks_others_do_not(account):
    owner = MembershipFactory(team=account.team, role="owner").user
    owner.is_staff = True
    owner.save()
    client = Client()
    client.force_login(owner)
    assert "checks" in client.get(HEALTH).json()
    _row, token = create_token(owner, days=1)
    assert "checks" in Client().get(HEALTH, HTTP_AUTHORIZATION=f"Token {token}").json()
    assert "checks" not in Client().get(HEALTH, HTTP_AUTHORIZATION="Token wrong").json()
    member = MembershipFactory(team=account.team, role="member").user
    member.is_staff = True
    member.save()
    client.force_login(member)  # staff, but manages no team
    assert "checks" not in client.get(HEALTH).json()


# --- metrics -----------------------------------------------------------------------------


def _families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_metrics_are_off_by_default(superuser_client):
    assert superuser_client.get(METRICS).status_code == 404


def test_metrics_for_staff_parse_and_read_the_database(superuser_client, account, settings):
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "METRICS_ENABLED": True}
    record_once(load("charge_succeeded"))
    StripeEventRecord.objects.update(received_at=timezone.now() - timedelta(seconds=90))
    OutboxEventFactory.create_batch(2, site=account.site, status=OutboxEvent.Status.DEAD)
    OutboxEventFactory(site=account.site, status=OutboxEvent.Status.DELIVERED)

    response = superuser_client.get(METRICS)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    families = _families(response.content.decode())
    assert families["bento_stripe_waiting_events"].samples[0].value == 1
    assert families["bento_stripe_oldest_waiting_event_age_seconds"].samples[0].value >= 90
    outbox = {
        (s.labels["site"], s.labels["status"]): s.value
        for s in families["bento_stripe_outbox_rows"].samples
    }
    assert outbox == {(str(account.site_id), "dead"): 2}
    connections = {s.labels["state"]: s.value for s in families["bento_stripe_connections"].samples}
    assert connections["active"] == 1 and connections["needs_reconnect"] == 0
    assert all(name.startswith("bento_stripe_") for name in families)


def test_the_backfill_metric_counts_stripe_objects_not_people(superuser_client, account, settings):
    """The last step's cursor counts people: the objects metric leaves it out."""
    from bento_stripe.models import BackfillCursor

    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "METRICS_ENABLED": True}
    for resource, done in (("charges", 300), ("people", 40)):
        BackfillCursor.objects.create(
            account=account, resource=resource, state="done", objects_done=done
        )
    families = _families(superuser_client.get(METRICS).content.decode())
    samples = families["bento_stripe_backfill_objects"].samples
    assert [(s.labels["state"], s.value) for s in samples] == [("done", 300)]


def test_metrics_for_team_staff_show_only_their_teams(account, settings):
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "METRICS_ENABLED": True}
    other = StripeAccountFactory()
    OutboxEventFactory(site=account.site, status=OutboxEvent.Status.DEAD)
    OutboxEventFactory(site=other.site, status=OutboxEvent.Status.DEAD)
    owner = MembershipFactory(team=account.team, role="owner").user
    owner.is_staff = True
    owner.save()
    client = Client()
    client.force_login(owner)
    families = _families(client.get(METRICS).content.decode())
    sites = {s.labels["site"] for s in families["bento_stripe_outbox_rows"].samples}
    assert sites == {str(account.site_id)}


def test_metrics_for_an_allowed_scraper_and_nobody_else(settings):
    settings.BENTO_STRIPE = {
        **settings.BENTO_STRIPE,
        "METRICS_ENABLED": True,
        "METRICS_ALLOWED_IPS": ["10.0.0.0/8"],
    }
    assert Client(REMOTE_ADDR="10.1.2.3").get(METRICS).status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.1").get(METRICS).status_code == 404
    client = Client()
    client.force_login(UserFactory())  # logged in, not staff
    assert client.get(METRICS).status_code == 404


@pytest.mark.postgres
def test_no_health_or_prune_query_scans_the_busy_tables(superuser_client, account):
    """With sequential scans disabled, every health query on the event and outbox tables is
    still planned on an index (a table that needs a Seq Scan would show one anyway)."""
    from django.test.utils import CaptureQueriesContext

    record_once(load("charge_succeeded"))
    OutboxEventFactory(site=account.site, status=OutboxEvent.Status.PENDING)
    with CaptureQueriesContext(connection) as captured:
        superuser_client.get(HEALTH)
    busy = ("bento_stripe_stripeeventrecord", "bento_stripe_outboxevent")
    queries = [q["sql"] for q in captured.captured_queries if any(t in q["sql"] for t in busy)]
    assert len(queries) == 4  # waiting events, undelivered, dead, failed events
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql in queries:
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert not any(f"Seq Scan on {t}" in plan for t in busy), (sql, plan)


def _outbox_scans_read_only_open_rows(sql: str) -> list[str]:
    """The outbox scans of ``sql``'s plan (seqscans off) that read more than open rows:
    a sequential scan, or an index scan with no condition on an index of every row."""
    import json

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
            ["bento_stripe_outboxevent", "% WHERE %"],
        )
        partial = {row[0] for row in cursor.fetchall()}
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    wide = []

    def walk(node: dict) -> None:
        index = node.get("Index Name", "")
        on_outbox = node.get("Relation Name") == "bento_stripe_outboxevent" or (
            index.startswith("bento_stripe_outbox")
        )
        if on_outbox and node["Node Type"] == "Seq Scan":
            wide.append("Seq Scan")
        elif on_outbox and index and index not in partial and "Index Cond" not in node:
            wide.append(index)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return wide


@pytest.mark.postgres
def test_a_scrape_and_a_replay_of_failed_rows_read_only_the_open_rows(account, settings):
    """The metrics' counts per site and status and ``bento_stripe_replay --failed`` read the
    rows not delivered (a partial index), never the delivered rows of the whole retention."""
    from django.core.management import call_command
    from django.test.utils import CaptureQueriesContext

    settings.BENTO_STRIPE = {
        **settings.BENTO_STRIPE,
        "METRICS_ENABLED": True,
        "METRICS_ALLOWED_IPS": ["127.0.0.1"],
    }
    for status in ("delivered", "pending", "failed", "dead", "held"):
        OutboxEventFactory(site=account.site, status=status)
    with CaptureQueriesContext(connection) as captured:
        assert Client(REMOTE_ADDR="127.0.0.1").get(METRICS).status_code == 200
        call_command("bento_stripe_replay", "--failed", "--dry-run", stdout=mock.Mock())
    queries = [
        q["sql"]
        for q in captured.captured_queries
        if "bento_stripe_outboxevent" in q["sql"] and q["sql"].lstrip().startswith("SELECT")
    ]
    assert len(queries) >= 3
    for sql in queries:
        assert _outbox_scans_read_only_open_rows(sql) == [], sql


def test_a_scrape_costs_the_same_queries_whatever_the_rows(
    superuser_client, account, settings, django_assert_num_queries
):
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "METRICS_ENABLED": True}
    for i in range(20):
        record_once({**load("charge_succeeded"), "id": f"evt_m{i}"})
        OutboxEventFactory(site=account.site, status=OutboxEvent.Status.DEAD)
        StripeAccountFactory()
    # session + user (2); waiting count, oldest waiting, failed events, outbox per site and
    # status, oldest undelivered, connections per state, backfill per account, last
    # reconciliation (8).
    with django_assert_num_queries(10):
        assert superuser_client.get(METRICS).status_code == 200
