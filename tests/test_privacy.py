"""A person's data: export, erase (then a dump of the app's tables names them nowhere), and
erasure markers that keep later webhooks from rebuilding them."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from djstripe.models import WebhookEventTrigger

from bento_stripe import bento
from bento_stripe.models import (
    ErasureMarker,
    LedgerCharge,
    LedgerCustomer,
    OutboxEvent,
    StripeAccount,
    StripeEventRecord,
    Subscriber,
)
from bento_stripe.operations.erasure import ERASED_NOTE
from bento_stripe.operations.privacy import erase_person, export_person

from .factories import MembershipFactory, StripeAccountFactory, SubscriberFactory
from .stripe_events import load, post, with_changes

pytestmark = pytest.mark.django_db

JANE = "jane@example.com"


@pytest.fixture(autouse=True)
def clean_outbox():
    bento.outbox.clear()
    yield
    bento.outbox.clear()


@pytest.fixture
def jane(account, deliver, endpoint, settings):
    """Jane's customer, charge and subscription delivered; every request kept as a trigger,
    and a refused request that names her."""
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "KEEP_WEBHOOK_TRIGGERS": True}
    deliver(
        load("customer_created"), load("charge_succeeded"), load("customer_subscription_created")
    )
    post(Client(), endpoint, load("charge_succeeded"), secret="whsec_wrong_secret_for_jane")
    assert WebhookEventTrigger.objects.filter(valid=False, body__contains=JANE).exists()
    assert Subscriber.objects.filter(email=JANE).exists()
    return account


def _dump() -> str:
    out = StringIO()
    call_command("dumpdata", "bento_stripe", stdout=out)
    triggers = StringIO()
    call_command("dumpdata", "djstripe.webhookeventtrigger", stdout=triggers)
    from django_q.models import Task

    # django-q2's stored tasks are pickled: read back as the objects they hold.
    texts = [f"{t.args!r} {t.kwargs!r} {t.result!r}" for t in Task.objects.all()]
    return out.getvalue() + triggers.getvalue() + "\n".join(texts)


def test_erase_then_a_dump_of_the_tables_names_the_person_nowhere(jane):
    assert JANE in _dump() and "cus_TJane0001" in _dump()  # the search can find her
    out = StringIO()
    call_command("bento_stripe_erase", "--email", "Jane@Example.com", "--yes", stdout=out)
    assert "Stripe and Bento were not touched" in out.getvalue()
    dump = _dump()
    assert JANE not in dump.lower()
    assert not LedgerCustomer.objects.exists() and not LedgerCharge.objects.exists()
    assert not OutboxEvent.objects.exists() and not Subscriber.objects.exists()
    # Event records stay as compact rows (their Stripe ids keep dedupe working).
    assert StripeEventRecord.objects.count() == 3
    assert all(r.payload == {} for r in StripeEventRecord.objects.all())
    markers = list(ErasureMarker.objects.all())
    assert {m.customer_id for m in markers} == {"cus_TJane0001", ""}
    assert StripeAccount.objects.get(pk=jane.pk).has_erasures


def test_a_later_event_about_an_erased_customer_is_ignored_and_redacted(jane, deliver):
    erase_person(JANE)
    later = with_changes(load("charge_succeeded"), id="evt_after_erasure")
    later["data"]["object"].update(id="ch_after", receipt_email=None)
    later["data"]["object"]["billing_details"]["email"] = None
    by_email = with_changes(load("charge_succeeded"), id="evt_guest_after_erasure")
    by_email["data"]["object"].update(id="ch_guest", customer=None)
    bento.outbox.clear()

    deliver(later, by_email)

    for event_id in ("evt_after_erasure", "evt_guest_after_erasure"):
        record = StripeEventRecord.objects.get(stripe_event_id=event_id)
        assert (record.status, record.note, record.payload) == ("ignored", ERASED_NOTE, {})
    assert bento.outbox == [], "nothing about her reaches Bento"
    assert not LedgerCharge.objects.exists() and not Subscriber.objects.exists()
    assert JANE not in _dump().lower()


def test_an_email_change_on_the_customer_lifts_its_marker(jane, deliver):
    erase_person(JANE)
    deliver(load("customer_updated_email"))  # the customer is now jane.doe@example.org
    record = StripeEventRecord.objects.get(stripe_event_id=load("customer_updated_email")["id"])
    assert record.status == "processed"
    assert LedgerCustomer.objects.get().email == "jane.doe@example.org"
    assert not ErasureMarker.objects.filter(customer_id="cus_TJane0001").exists()
    # The email-only marker stays: an event naming the erased email is still ignored.
    assert ErasureMarker.objects.filter(customer_id="").exists()


def test_an_admin_lifting_the_markers_lets_events_rebuild_the_person(jane, deliver):
    from bento_stripe.operations.privacy import lift_marker

    erase_person(JANE)
    for marker in ErasureMarker.objects.all():
        lift_marker(marker)
    assert not StripeAccount.objects.get(pk=jane.pk).has_erasures
    deliver(with_changes(load("customer_created"), id="evt_back"))
    assert LedgerCustomer.objects.get().email == JANE


def test_export_lists_everything_stored_about_the_person(jane):
    out = StringIO()
    call_command("bento_stripe_export", "--email", JANE, stdout=out)
    data = json.loads(out.getvalue())
    assert [c["customer_id"] for c in data["customers"]] == ["cus_TJane0001"]
    assert [c["charge_id"] for c in data["charges"]] == [
        load("charge_succeeded")["data"]["object"]["id"]
    ]
    assert len(data["subscriptions"]) == 1
    assert [s["email"] for s in data["subscribers"]] == [JANE]
    assert {e["type"] for e in data["events"]} >= {"customer.created", "charge.succeeded"}
    assert data["deliveries"] and all(d["email"] in (JANE, "") for d in data["deliveries"])
    assert data["webhook_requests"]
    # Reading changes nothing.
    assert LedgerCustomer.objects.exists() and Subscriber.objects.exists()


def test_erase_in_one_team_leaves_another_teams_person_alone(jane):
    other = StripeAccountFactory(stripe_user_id="acct_1OtherTeam")
    LedgerCustomer.objects.create(
        stripe_account_id=other.stripe_user_id, customer_id="cus_other", email=JANE
    )
    SubscriberFactory(site=other.site, email=JANE)

    report = erase_person(JANE, jane.team)

    assert report.counts["ledger customers deleted"] == 1
    assert LedgerCustomer.objects.filter(stripe_account_id=other.stripe_user_id).exists()
    assert Subscriber.objects.filter(site=other.site, email=JANE).exists()
    assert not StripeAccount.objects.get(pk=other.pk).has_erasures
    assert export_person(JANE, other.team)["customers"]


def test_erase_without_yes_and_without_a_terminal_refuses():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--yes"):
        call_command("bento_stripe_erase", "--email", JANE, stdout=StringIO())


def test_a_bad_email_is_a_clear_error():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="email"):
        call_command("bento_stripe_export", "--email", "nobody", stdout=StringIO())


# --- the REST API ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"), [("owner", 200), ("member", 403), ("stranger", 404), (None, 401)]
)
def test_api_export_and_erase_are_for_the_teams_managers(jane, role, status):
    client = Client()
    if role in ("owner", "member"):
        client.force_login(MembershipFactory(team=jane.team, role=role).user)
    elif role == "stranger":
        client.force_login(MembershipFactory(role="owner").user)
    body = json.dumps({"email": JANE, "team": jane.team_id})
    export = client.post("/api/subscribers/export/", body, content_type="application/json")
    assert export.status_code == status
    if status == 200:
        assert export.json()["customers"][0]["customer_id"] == "cus_TJane0001"
    erase = client.post("/api/subscribers/erase/", body, content_type="application/json")
    assert erase.status_code == status
    assert Subscriber.objects.filter(email=JANE).exists() is (status != 200)
    if status == 200:
        assert erase.json()["counts"]["subscribers deleted"] == 1


def test_api_refuses_a_body_without_email(jane):
    client = Client()
    client.force_login(MembershipFactory(team=jane.team, role="owner").user)
    response = client.post(
        "/api/subscribers/erase/",
        json.dumps({"team": jane.team_id}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert Subscriber.objects.filter(email=JANE).exists()


# --- the admin ---------------------------------------------------------------------------


def test_admin_exports_and_erases_after_a_confirmation(jane):
    from django.urls import reverse

    from .factories import UserFactory

    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:bento_stripe_subscriber_changelist")
    person = Subscriber.objects.get(email=JANE)
    exported = client.post(url, {"action": "export_people", "_selected_action": [person.pk]})
    assert exported["Content-Type"] == "application/json"
    assert json.loads(exported.content)[0]["customers"][0]["customer_id"] == "cus_TJane0001"

    asked = client.post(url, {"action": "erase_people", "_selected_action": [person.pk]})
    assert asked.status_code == 200 and b"Yes, erase them" in asked.content
    assert Subscriber.objects.filter(email=JANE).exists(), "nothing is erased before confirming"

    client.post(
        url, {"action": "erase_people", "_selected_action": [person.pk], "confirmed": "yes"}
    )
    assert not Subscriber.objects.filter(email=JANE).exists()
    assert not LedgerCustomer.objects.exists()
    assert ErasureMarker.objects.filter(customer_id="cus_TJane0001").exists()


def _task(func: str, result, success: bool):
    from uuid import uuid4

    from django.utils import timezone
    from django_q.models import Task

    now = timezone.now()
    return Task.objects.create(
        id=uuid4().hex,
        name=uuid4().hex,
        func=func,
        args=(7,),
        kwargs={},
        result=result,
        started=now,
        stopped=now,
        success=success,
    )


def test_the_app_s_task_results_that_name_the_person_are_exported_and_erased(jane):
    """django-q2 keeps a failed task's error text, which can name a person (a database
    error's detail, say); the app's results that do are exported and deleted. Another
    app's tasks are not the app's to delete; results that do not name her stay."""
    from django_q.models import Task

    error = "IntegrityError: Key (email)=(Jane@Example.com) already exists : Traceback ..."
    named = _task("bento_stripe.processing.tasks.process_waiting", error, False)
    count = _task("bento_stripe.processing.tasks.process_waiting", 12, True)
    host = _task("host.tasks.notify", "sent to jane@example.com", True)
    exported = export_person(JANE)["task_results"]
    assert (named.pk, False, error) in [(t["id"], t["success"], t["result"]) for t in exported]
    assert {count.pk, host.pk}.isdisjoint(t["id"] for t in exported)
    report = erase_person(JANE)
    assert report.counts["task results deleted"] == len(exported)
    mine = {named.pk, count.pk, host.pk}
    assert set(Task.objects.filter(pk__in=mine).values_list("pk", flat=True)) == {
        count.pk,
        host.pk,
    }
