"""Swappable Team and Site, the team policy, and their system checks (both lanes).

Runs under the test settings (the app's own models, MembershipPolicy) and under
``tests/swapped_settings.py`` (a host's Organization, Workspace and SeatPolicy).
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.test import override_settings

from bento_stripe import checks
from bento_stripe.conf import (
    DEFAULT_SITE_MODEL,
    DEFAULT_TEAM_MODEL,
    site_model_label,
    team_model_label,
)
from bento_stripe.models import (
    AbstractSite,
    AbstractTeam,
    Membership,
    Site,
    StripeAccount,
    Team,
    get_site_model,
    get_team_model,
)
from bento_stripe.policy import MembershipPolicy, TeamPolicy, get_team_policy, load_team_policy
from tests.factories import (
    AppMembershipFactory,
    MembershipFactory,
    SiteFactory,
    StripeAccountFactory,
    TeamFactory,
    UserFactory,
    reported_role,
)

SWAPPED = get_team_model() is not Team


def _ids(messages) -> list[str]:
    return sorted(m.id for m in messages)


# --- the models in use ------------------------------------------------------------------


def test_getters_name_the_configured_models():
    assert issubclass(get_team_model(), AbstractTeam)
    assert issubclass(get_site_model(), AbstractSite)
    if SWAPPED:
        assert get_team_model()._meta.label == "swapped_app.Organization"
        assert get_site_model()._meta.label == "swapped_app.Workspace"
        assert Team._meta.swapped == "swapped_app.Organization"
        assert Site._meta.swapped == "swapped_app.Workspace"
    else:
        assert (get_team_model(), get_site_model()) == (Team, Site)
        assert not Team._meta.swapped and not Site._meta.swapped


@pytest.mark.django_db
def test_only_the_models_in_use_have_tables():
    tables = set(connection.introspection.table_names())
    assert get_team_model()._meta.db_table in tables
    assert get_site_model()._meta.db_table in tables
    assert ("bento_stripe_site" in tables) is not SWAPPED
    assert ("bento_stripe_team" in tables) is not SWAPPED


def test_foreign_keys_of_the_app_point_at_the_models_in_use():
    site, team = get_site_model(), get_team_model()
    assert StripeAccount._meta.get_field("team").related_model is team
    assert StripeAccount._meta.get_field("site").related_model is site
    assert Membership._meta.get_field("team").related_model is team
    for model_name, field in (
        ("Subscriber", "site"),
        ("OutboxEvent", "site"),
        ("DeliveryLock", "site"),
        ("StripeEventRecord", "site"),
        ("Reroute", "new_site"),
    ):
        assert (
            apps.get_model("bento_stripe", model_name)._meta.get_field(field).related_model is site
        )


@pytest.mark.django_db
def test_migrations_match_the_models_and_wait_for_the_host_models():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    parents = graph.node_map[("bento_stripe", "0001_initial")].parents
    apps_before = {key[0] for key in (p.key for p in parents)}
    assert ("swapped_app" in apps_before) is SWAPPED


@pytest.mark.django_db
def test_database_refuses_a_connection_routed_to_another_teams_site():
    """0002's composite foreign key (PostgreSQL) or triggers (SQLite), on the site table in use."""
    account = StripeAccountFactory()
    foreign = SiteFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        StripeAccount.objects.filter(pk=account.pk).update(site=foreign)
    with pytest.raises(IntegrityError), transaction.atomic():
        get_site_model().objects.filter(pk=account.site_id).update(team=TeamFactory())
    second = SiteFactory(team=account.team)
    StripeAccount.objects.filter(pk=account.pk).update(site=second)
    assert StripeAccount.objects.get(pk=account.pk).site_id == second.pk


# --- the team policy --------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "views", "manages"),
    [("owner", True, True), ("admin", True, True), ("member", True, False), (None, False, False)],
)
def test_policy_answers_view_and_manage_per_role(role, views, manages):
    team, other = TeamFactory(), TeamFactory()
    user = UserFactory()
    if role:
        MembershipFactory(team=team, user=user, role=role)
    MembershipFactory(team=other, role="owner")  # someone else's team
    policy = get_team_policy()
    assert policy.can_view(user, team) is views
    assert policy.can_manage(user, team) is manages
    assert not policy.can_view(user, other)
    assert list(policy.teams(user).values_list("pk", flat=True)) == ([team.pk] if views else [])
    assert list(policy.teams(user, manage=True).values_list("pk", flat=True)) == (
        [team.pk] if manages else []
    )
    assert policy.roles(user) == ({team.pk: reported_role(role)} if role else {})


@pytest.mark.django_db
def test_policy_gives_anonymous_users_nothing():
    team = TeamFactory()
    MembershipFactory(team=team)
    policy = get_team_policy()
    anonymous = AnonymousUser()
    assert not policy.can_view(anonymous, team) and not policy.can_manage(anonymous, team)
    assert not policy.teams(anonymous).exists() and policy.roles(anonymous) == {}


def test_default_policy_is_the_membership_policy_unless_the_host_names_one():
    policy = get_team_policy()
    assert isinstance(policy, TeamPolicy)
    assert isinstance(policy, MembershipPolicy) is not SWAPPED


@pytest.mark.django_db
def test_a_policy_with_only_teams_gets_the_rest_derived():
    class OwnersOnly(TeamPolicy):
        """Sees and manages exactly the teams where the user is an owner (app memberships)."""

        def teams(self, user, *, manage=False):
            ids = Membership.objects.filter(user=user, role="owner").values("team_id")
            return get_team_model().objects.filter(pk__in=ids)

    membership = AppMembershipFactory(role="owner")
    policy = OwnersOnly()
    user, team = membership.user, membership.team
    assert policy.can_view(user, team) and policy.can_manage(user, team)
    assert policy.roles(user) == {team.pk: "manager"}
    assert policy.role_label("manager") == "Manager"
    assert not policy.can_view(UserFactory(), team)


def test_team_policy_setting_accepts_a_class_or_a_callable():
    assert isinstance(load_team_policy("bento_stripe.policy.MembershipPolicy"), MembershipPolicy)
    assert isinstance(load_team_policy("tests.test_swapping.policy_factory"), MembershipPolicy)


def policy_factory() -> MembershipPolicy:
    return MembershipPolicy()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("", "must be the dotted path"),
        ("tests.nowhere.Policy", "cannot be imported"),
        ("tests.test_swapping.SWAPPED", "is not a class or a callable"),
        ("builtins.object", "without teams, can_view, can_manage, roles, role_label"),
    ],
)
def test_check_refuses_a_bad_team_policy(settings, value, says):
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "TEAM_POLICY": value}
    (message,) = checks.check_team_policy()
    assert message.id == "bento_stripe.E025"
    assert "BENTO_STRIPE['TEAM_POLICY']" in message.msg and says in message.msg


# --- system checks of the swappable settings ---------------------------------------------


def test_checks_pass_for_the_configured_models():
    assert checks.check_swapped_models() == []
    assert checks.check_team_policy() == []


def test_check_refuses_a_team_model_that_is_not_a_team():
    # sessions.Session: not an AbstractTeam, and its primary key is a string.
    with override_settings(BENTO_STRIPE_TEAM_MODEL="sessions.Session"):
        messages = checks.check_swapped_models()
    assert {"bento_stripe.E020", "bento_stripe.E021"} <= set(_ids(messages))
    assert any("settings.BENTO_STRIPE_TEAM_MODEL = 'sessions.Session'" in m.msg for m in messages)


def test_check_refuses_a_site_model_without_team_or_abstract_base():
    with override_settings(
        BENTO_STRIPE_TEAM_MODEL=get_team_model()._meta.label, BENTO_STRIPE_SITE_MODEL="auth.Group"
    ):
        messages = checks.check_swapped_models()
    assert _ids(messages) == ["bento_stripe.E020", "bento_stripe.E023"]


def test_check_refuses_swapping_the_site_without_the_team():
    with override_settings(BENTO_STRIPE_TEAM_MODEL=None, BENTO_STRIPE_SITE_MODEL="auth.Group"):
        messages = checks.check_swapped_models()
    assert "bento_stripe.E022" in _ids(messages)
    assert any("BENTO_STRIPE_TEAM_MODEL is not" in m.msg for m in messages)


@pytest.mark.skipif(not SWAPPED, reason="needs the host stand-in app (swapped lane)")
def test_check_refuses_a_site_model_without_the_unique_id_team_pair():
    with override_settings(BENTO_STRIPE_SITE_MODEL="swapped_app.LooseWorkspace"):
        messages = checks.check_swapped_models()
    assert _ids(messages) == ["bento_stripe.E024"]
    assert "unique constraint over (id, team)" in messages[0].msg


def test_labels_default_to_the_apps_own_models():
    with override_settings(BENTO_STRIPE_TEAM_MODEL=None, BENTO_STRIPE_SITE_MODEL=None):
        assert site_model_label() == DEFAULT_SITE_MODEL
        assert team_model_label() == DEFAULT_TEAM_MODEL


class ViewersPolicy(TeamPolicy):
    """Every signed-in user views every team and manages none (a host's rule, for the admin test)."""

    def teams(self, user, *, manage=False):
        if manage or not user.is_authenticated:
            return get_team_model().objects.none()
        return get_team_model().objects.all()


@pytest.mark.django_db
@pytest.mark.skipif(SWAPPED, reason="the app's Team admin exists only for its own Team")
def test_admin_shows_members_inline_only_under_the_membership_policy(admin_client, settings):
    team = TeamFactory()
    AppMembershipFactory(team=team, role="owner")
    url = f"/admin/bento_stripe/team/{team.pk}/change/"
    assert "bento_stripe_memberships-TOTAL_FORMS" in admin_client.get(url).content.decode()
    settings.BENTO_STRIPE = {
        **settings.BENTO_STRIPE,
        "TEAM_POLICY": "tests.test_swapping.ViewersPolicy",
    }
    page = admin_client.get(url).content.decode()
    assert "bento_stripe_memberships-TOTAL_FORMS" not in page
    assert "sites-TOTAL_FORMS" in page  # the sites inline stays


@pytest.mark.django_db
def test_pages_follow_a_replaced_policy(client, settings):
    """A viewer under a host policy sees the team page but may not start a connection."""
    settings.BENTO_STRIPE = {
        **settings.BENTO_STRIPE,
        "TEAM_POLICY": "tests.test_swapping.ViewersPolicy",
    }
    site = SiteFactory()
    client.force_login(UserFactory())
    page = client.get("/account/teams/")
    assert page.status_code == 200 and site.team.name in page.content.decode()
    assert client.get(f"/account/teams/{site.team.pk}/oauth/stripe_accounts/new").status_code == 403
    teams = client.get("/api/teams/").json()["results"]
    assert [(t["id"], t["role"]) for t in teams] == [(site.team.pk, "member")]
