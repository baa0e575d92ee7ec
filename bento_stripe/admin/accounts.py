"""Admin for Stripe connections: Settings (site) through the service layer, and Disconnect."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import services
from ..exceptions import AlreadyConnectedError
from ..forms import StripeAccountForm
from ..models import StripeAccount
from .backfill import backfill_table
from .scoping import TeamScopedAdmin, related_only

#: The custom permission behind the Disconnect button and bulk action.
DISCONNECT_PERMISSION = "bento_stripe.disconnect_stripeaccount"


@admin.register(StripeAccount)
class StripeAccountAdmin(TeamScopedAdmin):
    form = StripeAccountForm
    change_form_template = "bento_stripe/admin/stripeaccount_change_form.html"
    list_display = [
        "__str__",
        "stripe_user_id",
        "team",
        "site",
        "livemode",
        "kind",
        "status",
        "needs_reconnect",
        "connected_at",
    ]
    list_filter = ["status", "kind", "needs_reconnect", "livemode", *related_only("team")]
    search_fields = ["stripe_user_id", "display_name", "team__name", "site__name"]
    list_select_related = ["team", "site"]
    actions = ["disconnect_selected"]
    readonly_fields = [
        "kind",
        "status",
        "needs_reconnect",
        "access_token_expires_at",
        "tokens_issued_at",
        "connected_by",
        "connected_at",
        "disconnected_at",
        "created_at",
        "updated_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # The identity of a connection never changes; only its routing does.
            fields += ["team", "stripe_user_id", "livemode", "scope", "backfill"]
        return fields

    @admin.display(description=_("Backfill and reconciliation"))
    def backfill(self, obj: StripeAccount) -> str:
        """The connection's cursors, one line per resource (read-only, no form to post)."""
        return backfill_table(obj)

    def has_disconnect_permission(self, request, obj=None) -> bool:
        """Whether the user holds ``bento_stripe.disconnect_stripeaccount``."""
        return request.user.has_perm(DISCONNECT_PERMISSION)

    def save_model(self, request, obj, form, change):
        """New rows go through ``services.connect_account``, a changed site through
        ``services.change_site``: the admin keeps every rule the other front doors keep."""
        if not change:
            try:
                account, _created = services.connect_account(
                    team=obj.team,
                    site=obj.site,
                    stripe_user_id=obj.stripe_user_id,
                    livemode=obj.livemode,
                    scope=obj.scope,
                    display_name=obj.display_name,
                    by=request.user,
                )
            except AlreadyConnectedError as exc:
                # Another team connected it between the form's check and this write.
                raise PermissionDenied(str(exc)) from exc
            obj.pk = account.pk
            obj.refresh_from_db()
            return None
        others = [name for name in form.changed_data if name != "site"]
        if others:
            obj.save(update_fields=[*others, "updated_at"])
        if "site" in form.changed_data:
            current = StripeAccount.objects.get(pk=obj.pk)
            services.change_site(current, form.cleaned_data["site"], by=request.user)

    # --- Disconnect: object-page button and bulk action, behind the custom permission ---

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/disconnect/",
                self.admin_site.admin_view(self.disconnect_view),
                name=f"{opts.app_label}_{opts.model_name}_disconnect",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_disconnect": self.has_disconnect_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def disconnect_view(self, request, object_id):
        """Confirm (GET), then disconnect (POST) one connection and record it in the admin log."""
        if not self.has_disconnect_permission(request):
            raise PermissionDenied
        account = get_object_or_404(self.get_queryset(request), pk=object_id)
        opts = self.model._meta
        change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[account.pk])
        if not account.is_active:
            self.message_user(request, _("This connection is already disconnected."), messages.INFO)
            return redirect(change_url)
        if request.method == "POST":
            self._disconnect(request, account)
            self.message_user(
                request,
                _("%(account)s is disconnected; the app is revoked at Stripe in the background.")
                % {"account": account},
                messages.SUCCESS,
            )
            return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Disconnect %(account)s?") % {"account": account},
            "opts": opts,
            "object": account,
            "change_url": change_url,
        }
        return TemplateResponse(
            request, "bento_stripe/admin/stripeaccount_disconnect.html", context
        )

    @admin.action(description=_("Disconnect selected Stripe accounts"), permissions=["disconnect"])
    def disconnect_selected(self, request, queryset):
        done = 0
        for account in queryset.filter(status=StripeAccount.Status.ACTIVE):
            self._disconnect(request, account)
            done += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d Stripe account disconnected.",
                "%(count)d Stripe accounts disconnected.",
                done,
            )
            % {"count": done},
            messages.SUCCESS,
        )

    def _disconnect(self, request, account: StripeAccount) -> None:
        services.disconnect(account, by=request.user)
        self.log_change(request, account, str(_("Disconnected from Stripe.")))
