"""A person's data: everything the app stores about an email, exported or erased.

Pages, the REST API, the admin and the commands call :func:`export_person` and
:func:`erase_person`. Neither talks to Stripe or Bento: docs/operations/privacy.rst says
how to erase a person there too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.forms.models import model_to_dict
from django.utils import timezone
from djstripe.models import WebhookEventTrigger

from ..models import (
    ErasureMarker,
    LedgerCharge,
    LedgerCustomer,
    LedgerDispute,
    LedgerSubscription,
    OutboxEvent,
    StripeAccount,
    StripeEventRecord,
    Subscriber,
    TeamModel,
)
from .erasure import ERASED_NOTE, email_digest, normalise, refresh_flag

WAITING = (StripeEventRecord.Status.RECEIVED, StripeEventRecord.Status.FAILED)


@dataclass
class Person:
    """Where one email appears, within the connections and sites of a scope."""

    email: str
    team: TeamModel | None
    accounts: list[StripeAccount]
    customers: list[LedgerCustomer] = field(default_factory=list)
    charges: list[LedgerCharge] = field(default_factory=list)
    disputes: list[LedgerDispute] = field(default_factory=list)
    subscriptions: list[LedgerSubscription] = field(default_factory=list)
    subscribers: QuerySet[Subscriber] | None = None
    deliveries: QuerySet[OutboxEvent] | None = None
    events: QuerySet[StripeEventRecord] | None = None
    requests: QuerySet[WebhookEventTrigger] | None = None
    #: django-q2's stored results (successes and failures) of the app's tasks that
    #: mention the person: a failure keeps its error's text, which can hold an email.
    task_results: list[Any] = field(default_factory=list)

    @property
    def account_ids(self) -> set[str]:
        return {a.stripe_user_id for a in self.accounts}

    def connections(self) -> set[tuple[str, bool]]:
        """The (account, mode) pairs where the person has ledger rows or events."""
        found = {
            (row.stripe_account_id, row.livemode)
            for row in [*self.customers, *self.charges, *self.disputes, *self.subscriptions]
        }
        if self.events is not None:
            found.update(self.events.values_list("stripe_account_id", "livemode").distinct())
        return found


def _mentions(field_name: str, needles: list[str]) -> Q:
    """Rows whose text (a JSON payload cast to text, or a body) contains any needle."""
    query = Q()
    for needle in needles:
        query |= Q(**{f"{field_name}__icontains": needle})
    return query


def find_person(email: str, team: TeamModel | None = None) -> Person:
    """Everything stored about ``email`` in ``team``'s connections and sites (all: None)."""
    email = normalise(email)
    if not email or "@" not in email:
        raise ValueError("Give the person's email address.")
    accounts = StripeAccount.objects.all() if team is None else team.stripe_accounts.all()
    person = Person(email=email, team=team, accounts=list(accounts.order_by("pk")))
    ids = sorted(person.account_ids)
    in_accounts = Q(stripe_account_id__in=ids)
    person.customers = list(LedgerCustomer.objects.filter(in_accounts, email=email))
    keys = {(c.stripe_account_id, c.livemode, c.customer_id) for c in person.customers}
    customer_ids = sorted({c.customer_id for c in person.customers})

    def theirs(row: Any) -> bool:
        return row.email == email or (row.stripe_account_id, row.livemode, row.customer_id) in keys

    person.charges = [
        row
        for row in LedgerCharge.objects.filter(
            in_accounts,
            Q(email=email) | Q(own_email__iexact=email) | Q(customer_id__in=customer_ids),
        )
        if theirs(row) or row.own_email.lower() == email
    ]
    charge_ids = sorted({c.charge_id for c in person.charges})
    person.disputes = list(
        LedgerDispute.objects.filter(in_accounts, Q(email=email) | Q(charge_id__in=charge_ids))
    )
    person.subscriptions = [
        row
        for row in LedgerSubscription.objects.filter(
            in_accounts, Q(email=email) | Q(customer_id__in=customer_ids)
        )
        if theirs(row)
    ]
    sites = Q() if team is None else Q(site__team=team)
    person.subscribers = Subscriber.objects.filter(sites, email__iexact=email)
    connection_pks = [a.pk for a in person.accounts]
    person.deliveries = OutboxEvent.objects.filter(
        sites,
        Q(email__iexact=email)
        | Q(stripe_person_key__in=customer_ids, connection_id__in=connection_pks),
    )
    # Payloads are searched as text, within the scope's accounts: a rare, deliberate scan.
    needles = [email, *customer_ids]
    person.events = (
        StripeEventRecord.objects.filter(in_accounts)
        .annotate(text=Cast("payload", TextField()))
        .filter(_mentions("text", needles))
    )
    requests = WebhookEventTrigger.objects.filter(body__icontains=email)
    if team is not None:
        requests = requests.filter(_mentions("body", ids)) if ids else requests.none()
    person.requests = requests
    person.task_results = _task_results(needles)
    return person


#: The app's task functions, as django-q2 stores them (``bento_stripe.queue``).
TASK_PREFIX = "bento_stripe."


def _tasks(pks: list[str] | None = None) -> QuerySet:
    """django-q2's stored tasks of the app (those of ``pks`` only, when given)."""
    from django_q.models import Task

    rows = Task.objects.filter(func__startswith=TASK_PREFIX)
    return rows if pks is None else rows.filter(pk__in=pks)


def _task_results(needles: list[str]) -> list[Any]:
    """django-q2's stored results of the app's tasks whose arguments or result mention a
    needle (any case), whatever the team: a result names no team. The app queues ids
    only, so it is the results that can: an error's text names what it failed on. They
    are pickled, so each is read and looked at here: a short table (django-q2 keeps
    ``save_limit`` successes, and the failures)."""
    lowered = [n.lower() for n in needles]
    found = []
    for task in _tasks().order_by("started").iterator():
        text = f"{task.args!r} {task.kwargs!r} {task.result!r}".lower()
        if any(n in text for n in lowered):
            found.append(task)
    return found


def _rows(objects: Any, exclude: tuple[str, ...] = ()) -> list[dict]:
    return [model_to_dict(o, exclude=list(exclude)) for o in objects]


def export_person(email: str, team: TeamModel | None = None) -> dict:
    """Everything the app stores about ``email`` (in ``team``), JSON-ready."""
    person = find_person(email, team)
    assert person.subscribers is not None and person.deliveries is not None  # noqa: S101
    assert person.events is not None and person.requests is not None  # noqa: S101
    return {
        "email": person.email,
        "team": getattr(team, "pk", None),
        "exported_at": timezone.now().isoformat(),
        "customers": _rows(person.customers),
        "charges": _rows(person.charges),
        "disputes": _rows(person.disputes),
        "subscriptions": _rows(person.subscriptions),
        "subscribers": [
            {"site": s.site_id, "email": s.email, "fields": s.fields, "updated_at": s.updated_at}
            for s in person.subscribers.order_by("pk")
        ],
        "deliveries": _rows(person.deliveries.order_by("pk"), exclude=("lease_expires_at",)),
        "events": [
            {
                "stripe_event_id": r.stripe_event_id,
                "type": r.event_type,
                "stripe_account": r.stripe_account_id,
                "livemode": r.livemode,
                "created": r.created,
                "status": r.status,
                "received_at": r.received_at,
                "payload": r.payload,
            }
            for r in person.events.order_by("pk")
        ],
        "webhook_requests": [
            {"id": t.pk, "created": t.created, "valid": t.valid, "body": t.body}
            for t in person.requests.order_by("pk")
        ],
        "task_results": [
            {
                "id": t.pk,
                "func": t.func,
                "started": t.started,
                "success": t.success,
                "result": t.result
                if isinstance(t.result, int | float | bool | None)
                else str(t.result),
            }
            for t in person.task_results
        ],
    }


@dataclass
class ErasureReport:
    """What an erasure removed, per kind of row."""

    email: str
    counts: dict[str, int] = field(default_factory=dict)
    markers: int = 0

    @property
    def found(self) -> bool:
        return any(self.counts.values())


def erase_person(email: str, team: TeamModel | None = None, *, by: Any = None) -> ErasureReport:
    """Remove everything the app stores about ``email`` (in ``team``) and leave markers.

    Ledger, subscriber and outbox rows are deleted; event records naming the person are
    stripped to their Stripe id (kept for dedupe) and, if still waiting, ignored; kept
    webhook requests and django-q2's stored task results naming them are deleted. Markers
    (a digest of the email, never the email) keep later events about the person's
    customers from rebuilding them. One transaction, with the connections locked first as
    processing locks them.
    """
    with transaction.atomic():
        scope = StripeAccount.objects.all() if team is None else team.stripe_accounts.all()
        list(scope.select_for_update().order_by("pk").values_list("pk", flat=True))
        person = find_person(email, team)
        assert person.subscribers is not None and person.deliveries is not None  # noqa: S101
        assert person.events is not None and person.requests is not None  # noqa: S101
        digest = email_digest(person.email)
        connections = person.connections()
        markers = [
            ErasureMarker(
                stripe_account_id=c.stripe_account_id,
                livemode=c.livemode,
                customer_id=c.customer_id,
                email_digest=digest,
                created_by=by if getattr(by, "pk", None) else None,
            )
            for c in person.customers
        ] + [
            ErasureMarker(
                stripe_account_id=account_id,
                livemode=livemode,
                customer_id="",
                email_digest=digest,
                created_by=by if getattr(by, "pk", None) else None,
            )
            for account_id, livemode in sorted(connections)
        ]
        ErasureMarker.objects.bulk_create(markers, ignore_conflicts=True)
        for account_id, livemode in connections:
            refresh_flag(account_id, livemode)
        counts: dict[str, int] = {}
        now = timezone.now()
        event_pks = list(person.events.values_list("pk", flat=True))
        counts["event records redacted"] = StripeEventRecord.objects.filter(
            pk__in=event_pks
        ).update(payload={}, trigger=None, pruned_at=now)
        StripeEventRecord.objects.filter(pk__in=event_pks, status__in=WAITING).update(
            status=StripeEventRecord.Status.IGNORED,
            note=ERASED_NOTE,
            claim_owner="",
            claimed_until=None,
            processed_at=now,
        )
        counts["webhook requests deleted"] = _delete(person.requests)
        counts["task results deleted"] = _delete(_tasks([t.pk for t in person.task_results]))
        counts["deliveries deleted"] = _delete(person.deliveries)
        counts["subscribers deleted"] = _delete(person.subscribers)
        for label, rows in (
            ("ledger customers deleted", person.customers),
            ("ledger charges deleted", person.charges),
            ("ledger disputes deleted", person.disputes),
            ("ledger subscriptions deleted", person.subscriptions),
        ):
            model = type(rows[0]) if rows else None
            counts[label] = (
                model.objects.filter(pk__in=[r.pk for r in rows]).delete()[0] if model else 0
            )
    return ErasureReport(email=person.email, counts=counts, markers=len(markers))


def _delete(rows: QuerySet) -> int:
    pks = list(rows.values_list("pk", flat=True))
    if not pks:
        return 0
    rows.model._default_manager.filter(pk__in=pks).delete()
    return len(pks)


def lift_marker(marker: ErasureMarker) -> None:
    """Delete an erasure marker (an admin's decision): later events rebuild the person."""
    with transaction.atomic():
        marker.delete()
        refresh_flag(marker.stripe_account_id, marker.livemode)
