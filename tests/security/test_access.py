"""Access: every URL pattern of the app × every actor, enumerated from the URL resolver.

Each URL name of the app (pages, webhook, REST API, and the admin of bento_stripe's
models with their custom views) must have a rule here: a new URL without one fails
``test_every_url_of_the_app_has_a_rule``. Each rule says what every actor gets for a
GET; the state-changing pages and API actions are also POSTed by every actor, and only
the ones allowed may change anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from bento_stripe.models import StripeAccount

from .conftest import ACTORS, World

pytestmark = pytest.mark.django_db

NON_STAFF = ("non_member", "other_team_member", "plain_member", "owner")
MEMBERS = ("plain_member", "owner")
LOGIN = "login"  # a redirect to the login page
MISSING = "missing"  # the admin's "doesn't exist" redirect: an object outside the user's teams


def walk(patterns, namespace: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or ""
            full = f"{namespace}:{inner}" if namespace and inner else (inner or namespace)
            yield from walk(pattern.url_patterns, full)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}:{pattern.name}" if namespace else pattern.name


def app_url_names() -> set[str]:
    """Every named URL of bento-stripe in the project's URLconf."""
    names = set(walk(get_resolver().url_patterns))
    return {
        n
        for n in names
        if n.startswith(("bento_stripe:", "bento_stripe_api:", "admin:bento_stripe_"))
    }


# --- expectations: actor → status of a GET ------------------------------------------------


def page(members: int, others: int = 404) -> Callable[[str], object]:
    """A team page: login for the logged out, ``others`` for non-members, ``members`` for
    plain members; owners always 200."""

    def rule(actor: str) -> object:
        if actor == "logged_out":
            return LOGIN
        if actor == "owner":
            return 200
        if actor == "plain_member":
            return members
        return others

    return rule


def any_logged_in(status: int) -> Callable[[str], object]:
    return lambda actor: LOGIN if actor == "logged_out" else status


def api(members: int = 200, others: int = 404) -> Callable[[str], object]:
    def rule(actor: str) -> object:
        if actor == "logged_out":
            return 401  # no credentials: 401 with WWW-Authenticate: Token
        return members if actor in MEMBERS else others

    return rule


#: What each URL of the app's own pages, webhook and API gives each actor for a GET.
RULES: dict[str, Callable[[str], object]] = {
    "bento_stripe:webhook": lambda actor: 405,  # POST only, and only signed (see below)
    # Readiness answers everyone (the checks only to staff: tests/test_health.py).
    "bento_stripe:health": lambda actor: 200,
    # Off by default (METRICS_ENABLED): nobody gets it; when on, see below.
    "bento_stripe:metrics": lambda actor: 404,
    "bento_stripe:stripe_app": any_logged_in(200),
    "bento_stripe:teams": any_logged_in(200),
    "bento_stripe:connect_new": page(members=403),
    "bento_stripe:oauth_callback": any_logged_in(400),  # no state: refused, nothing made
    "bento_stripe:account_review": page(members=200),
    # The review page's backfill progress (JSON), under the page's own rule.
    "bento_stripe:account_backfill_state": page(members=200),
    "bento_stripe:account_settings": page(members=403),
    "bento_stripe:account_disconnect": page(members=403),
    # POST only (it sends the user to Stripe): a GET is refused before any lookup; who may
    # POST is checked in tests/test_stripe_app.py.
    "bento_stripe:account_reconnect": any_logged_in(405),
    "bento_stripe_api:api-root": api(members=200, others=200),
    # Lists answer 200 to any member of any team; what they contain is checked below.
    "bento_stripe_api:team-list": api(members=200, others=200),
    "bento_stripe_api:site-list": api(members=200, others=200),
    "bento_stripe_api:stripeaccount-list": api(members=200, others=200),
    "bento_stripe_api:subscriber-list": api(members=200, others=200),
    "bento_stripe_api:team-detail": api(),
    "bento_stripe_api:site-detail": api(),
    "bento_stripe_api:stripeaccount-detail": api(),
    "bento_stripe_api:subscriber-detail": api(),
    # A person's data: POST only, for the team's managers (POSTs are checked below).
    "bento_stripe_api:subscriber-export": api(members=405, others=405),
    "bento_stripe_api:subscriber-erase": api(members=405, others=405),
    # POST only: a GET is refused before any lookup (POSTs are checked below).
    "bento_stripe_api:stripeaccount-disconnect": api(members=405, others=405),
    "bento_stripe_api:stripeaccount-backfill": api(members=405, others=405),
    # A connection's events: nested under it, so a non-member's lookup is a 404 first.
    "bento_stripe_api:stripeevent-list": api(),
    "bento_stripe_api:stripeevent-detail": api(),
    "bento_stripe_api:stripeevent-replay": api(members=405),
    # The schema and its docs describe the API to anyone; they hold no data.
    "bento_stripe_api:schema": lambda actor: 200,
    "bento_stripe_api:docs": lambda actor: 200,
    # The user's own API tokens; revoking is a POST (checked in tests/test_api_tokens.py).
    "bento_stripe:api_tokens": any_logged_in(200),
    "bento_stripe:revoke_api_token": any_logged_in(405),
}

#: Admin views of bento_stripe's models, by the suffix of their URL name.
ADMIN_VIEWS = ("changelist", "add", "change", "delete", "history", "disconnect")
_ADMIN_NAME = re.compile(r"^admin:bento_stripe_(?P<model>[a-z]+)_(?P<view>[a-z]+)$")


def admin_rule(model_admin: admin.ModelAdmin, view: str, actor: str) -> object:
    """Staff only; without a permission 403; view-only staff may look, never add, delete or
    disconnect; the superuser may do what the ModelAdmin allows anyone."""
    if actor == "logged_out" or actor in NON_STAFF:
        return LOGIN
    if actor == "staff_without_permission":
        # The history view looks the object up first: team A's does not exist for them.
        return MISSING if view == "history" else 403
    looking = view in ("changelist", "change", "history")
    if actor == "view_only_staff":
        # Staff of no team: the lists are empty and team A's objects do not exist for them.
        if view in ("change", "history"):
            return MISSING
        return 200 if looking else 403
    if view == "add" and not model_admin.has_add_permission(_superuser_request()):
        return 403
    if view == "delete" and not model_admin.has_delete_permission(_superuser_request()):
        return 403  # read-only admins (the catalogue: Stripe is where products change)
    return 200


def _superuser_request():
    from django.contrib.auth import get_user_model

    request = RequestFactory().get("/")
    request.user = get_user_model().objects.get(is_superuser=True)
    return request


def admin_url(world: World, name: str) -> tuple[str, admin.ModelAdmin, str]:
    match = _ADMIN_NAME.match(name)
    assert match, name
    model = next(m for m in admin.site._registry if m._meta.model_name == match["model"])
    view = match["view"]
    if view in ("changelist", "add"):
        return reverse(name), admin.site._registry[model], view
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, f"the world has no {model.__name__} for {name}"
    return reverse(name, args=[obj.pk]), admin.site._registry[model], view


def app_url(world: World, name: str) -> str:
    account = world.account
    kwargs: dict[str, object] = {}
    if name == "bento_stripe:webhook":
        kwargs = {"uuid": "00000000-0000-4000-8000-000000000000"}
    elif name == "bento_stripe:connect_new":
        kwargs = {"team_id": account.team_id}
    elif name.startswith("bento_stripe:account_"):
        kwargs = {"team_id": account.team_id, "pk": account.pk}
    elif name == "bento_stripe:revoke_api_token":
        kwargs = {"digest": "0" * 128}
    elif name.startswith("bento_stripe_api:stripeevent-"):
        kwargs = {"account_pk": account.pk}
        if not name.endswith("-list"):
            kwargs["stripe_event_id"] = world.event.stripe_event_id
    elif name.endswith(("-detail", "-disconnect", "-backfill")):
        target = {
            "team": account.team,
            "site": account.site,
            "stripeaccount": account,
            "subscriber": world.subscriber,
        }[name.split(":")[1].split("-")[0]]
        kwargs = {"pk": target.pk}
    return reverse(name, kwargs=kwargs)


def outcome(response) -> object:
    if response.status_code == 302 and "/login/" in response["Location"]:
        return LOGIN
    if response.status_code == 302 and response["Location"] == reverse("admin:index"):
        return MISSING
    return response.status_code


# --- the tests ---------------------------------------------------------------------------


def test_every_url_of_the_app_has_a_rule():
    names = app_url_names()
    admin_names = {n for n in names if n.startswith("admin:")}
    without_rule = (names - admin_names) - set(RULES)
    assert not without_rule, f"URLs without an access rule: {sorted(without_rule)}"
    assert not set(RULES) - names, "rules for URLs that no longer exist"
    unknown_admin = {
        n
        for n in admin_names
        if not (_ADMIN_NAME.match(n) and _ADMIN_NAME.match(n)["view"] in ADMIN_VIEWS)
    }
    assert not unknown_admin, f"admin URLs without a rule: {sorted(unknown_admin)}"
    # The enumeration itself sees what it should (a guard against an empty walk).
    assert {"bento_stripe:account_review", "admin:bento_stripe_stripeaccount_disconnect"} <= names


@pytest.mark.parametrize("actor", ACTORS)
def test_every_url_answers_each_actor_as_its_rule_says(world, actor):
    client = world.client(actor)
    wrong = []
    for name in sorted(app_url_names()):
        if name.startswith("admin:"):
            url, model_admin, view = admin_url(world, name)
            expected = admin_rule(model_admin, view, actor)
        else:
            url, expected = app_url(world, name), RULES[name](actor)
        got = outcome(client.get(url))
        if got != expected:
            wrong.append(f"{name} ({url}): expected {expected}, got {got}")
    assert not wrong, "\n".join(wrong)


def _snapshot(world: World) -> tuple:
    account = StripeAccount.objects.get(pk=world.account.pk)
    return (account.status, account.site_id)


@pytest.mark.parametrize("actor", ACTORS)
def test_only_owners_change_a_connection_through_pages_and_api(world, actor, monkeypatch):
    monkeypatch.setattr("bento_stripe.queue.enqueue_on_commit", lambda *a, **kw: None)
    client = world.client(actor)
    account = world.account
    attempts = [
        ("post", app_url(world, "bento_stripe:account_settings"), {"site": world.second_site.pk}),
        ("post", app_url(world, "bento_stripe:account_disconnect"), {}),
        (
            "patch",
            app_url(world, "bento_stripe_api:stripeaccount-detail"),
            {"site": world.second_site.pk},
        ),
        ("post", app_url(world, "bento_stripe_api:stripeaccount-disconnect"), {}),
    ]
    before = _snapshot(world)
    changed = []
    for method, url, data in attempts:
        kwargs = {"content_type": "application/json"} if method == "patch" else {}
        payload = json.dumps(data) if method == "patch" else data
        response = getattr(client, method)(url, payload, **kwargs)
        after = _snapshot(world)
        if after != before:
            changed.append((url, response.status_code))
            StripeAccount.objects.filter(pk=account.pk).update(
                status=StripeAccount.Status.ACTIVE, site=account.site
            )
    if actor == "owner":
        assert len(changed) == len(attempts), changed  # the allowed actor really can
    else:
        assert not changed, f"{actor} changed the connection: {changed}"


@pytest.mark.parametrize("actor", [a for a in ACTORS if a not in MEMBERS])
def test_api_lists_show_no_other_teams_objects(world, actor):
    client = world.client(actor)
    ours = {
        "team-list": world.account.team_id,
        "site-list": world.account.site_id,
        "stripeaccount-list": world.account.pk,
        "subscriber-list": world.subscriber.pk,
    }
    for name, pk in ours.items():
        response = client.get(reverse(f"bento_stripe_api:{name}"))
        if actor == "logged_out":
            assert response.status_code == 401
            continue
        assert response.status_code == 200
        assert pk not in [row["id"] for row in response.json()["results"]], name


def test_view_only_and_permissionless_staff_get_no_admin_actions(world):
    from django.contrib.auth import get_user_model

    for actor in ("view_only_staff", "staff_without_permission"):
        request = RequestFactory().get("/")
        request.user = get_user_model().objects.get(pk=world.users[actor].pk)
        for model, model_admin in admin.site._registry.items():
            if model._meta.app_label != "bento_stripe":
                continue
            assert model_admin.get_actions(request) == {}, (actor, model.__name__)
    # Every custom action of the app declares the permission it needs.
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "bento_stripe":
            continue
        for action in model_admin.actions or ():
            func = getattr(model_admin, action) if isinstance(action, str) else action
            assert getattr(func, "allowed_permissions", None), (model.__name__, action)


def test_the_webhook_refuses_unsigned_posts_from_every_actor(world):
    from djstripe.models import WebhookEndpoint  # noqa: F401  (no endpoint: 400 comes first)

    for actor in ACTORS:
        response = world.client(actor).post(
            app_url(world, "bento_stripe:webhook"), "{}", content_type="application/json"
        )
        assert response.status_code == 400, actor
