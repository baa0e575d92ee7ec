"""Teams, sites and Stripe connections: the rules the forms and the database both keep."""

import pytest
from django.db import IntegrityError, transaction

from bento_stripe.forms import StripeAccountForm
from bento_stripe.models import (
    Membership,
    Site,
    StripeAccount,
    Team,
    get_site_model,
    get_team_model,
)
from bento_stripe.policy import get_team_policy
from tests.factories import (
    MembershipFactory,
    SiteFactory,
    StripeAccountFactory,
    TeamFactory,
    reported_role,
)

pytestmark = pytest.mark.django_db


def test_public_imports():
    assert {Team, Membership, Site, StripeAccount, get_team_model(), get_site_model()}


def test_database_refuses_site_of_another_team_on_insert():
    team, other = TeamFactory(), TeamFactory()
    foreign_site = SiteFactory(team=other)
    with pytest.raises(IntegrityError), transaction.atomic():
        StripeAccount.objects.create(team=team, site=foreign_site, stripe_user_id="acct_1")
        # PostgreSQL checks the composite key at once; force it anyway for deferred setups.
        StripeAccount.objects.filter(stripe_user_id="acct_1").count()
    assert not StripeAccount.objects.filter(stripe_user_id="acct_1").exists()


def test_database_refuses_rerouting_to_site_of_another_team():
    account = StripeAccountFactory()
    foreign_site = SiteFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        StripeAccount.objects.filter(pk=account.pk).update(site=foreign_site)
    account.refresh_from_db()
    assert account.site.team_id == account.team_id


def test_database_refuses_moving_a_routed_site_to_another_team():
    account = StripeAccountFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        get_site_model().objects.filter(pk=account.site_id).update(team=TeamFactory())


def test_database_allows_site_of_same_team():
    account = StripeAccountFactory()
    second = SiteFactory(team=account.team)
    StripeAccount.objects.filter(pk=account.pk).update(site=second)
    account.refresh_from_db()
    assert account.site == second


def test_form_refuses_site_of_another_team_and_offers_only_team_sites():
    account = StripeAccountFactory()
    own_second = SiteFactory(team=account.team)
    foreign_site = SiteFactory()
    form = StripeAccountForm(
        instance=account,
        data={
            "team": account.team_id,
            "site": foreign_site.pk,
            "stripe_user_id": account.stripe_user_id,
            "scope": "read_only",
            "display_name": "x",
        },
    )
    assert set(form.fields["site"].queryset) == {account.site, own_second}
    assert not form.is_valid()
    assert "site" in form.errors


def test_model_clean_refuses_site_of_another_team():
    from django.core.exceptions import ValidationError

    account = StripeAccountFactory.build(team=TeamFactory(), site=SiteFactory())
    with pytest.raises(ValidationError):
        account.full_clean()


def test_one_active_connection_per_account_and_mode():
    account = StripeAccountFactory(stripe_user_id="acct_dup", livemode=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        StripeAccountFactory(stripe_user_id="acct_dup", livemode=True)
    # The same team's test mode, or a new live row after the first one is disconnected, is fine.
    ours = {"team": account.team, "site": account.site}
    StripeAccountFactory(stripe_user_id="acct_dup", livemode=False, **ours)
    account.status = StripeAccount.Status.DISCONNECTED
    account.save()
    StripeAccountFactory(stripe_user_id="acct_dup", livemode=True, **ours)
    assert StripeAccount.objects.filter(stripe_user_id="acct_dup").count() == 3


@pytest.mark.parametrize("livemode", [True, False])
def test_the_database_refuses_an_account_another_team_holds_in_either_mode(livemode):
    held = StripeAccountFactory(stripe_user_id="acct_held", livemode=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        StripeAccountFactory(stripe_user_id="acct_held", livemode=livemode)  # another team
    # A disconnected row of another team cannot be switched back on behind the service.
    other = StripeAccountFactory(
        stripe_user_id="acct_held", livemode=True, status=StripeAccount.Status.DISCONNECTED
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        StripeAccount.objects.filter(pk=other.pk).update(status=StripeAccount.Status.ACTIVE)
    # Once the holder disconnects, another team may connect it.
    StripeAccount.objects.filter(pk=held.pk).update(status=StripeAccount.Status.DISCONNECTED)
    StripeAccount.objects.filter(pk=other.pk).update(status=StripeAccount.Status.ACTIVE)
    assert StripeAccount.objects.active().get().team_id == other.team_id


def test_roles_come_from_the_team_policy():
    team = TeamFactory()
    user = MembershipFactory(team=team, role=Membership.Role.ADMIN).user
    policy = get_team_policy()
    assert policy.roles(user) == {team.pk: reported_role("admin")}
    assert policy.role_label(reported_role("admin")) in {"Admin", "Editor"}
    assert policy.roles(MembershipFactory().user).get(team.pk) is None
