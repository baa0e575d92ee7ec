"""Forms shared by the admin and the account pages."""

from __future__ import annotations

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from .crypto import mask
from .models import StripeAccount, get_site_model


class SecretInput(forms.PasswordInput):
    """A password box whose placeholder shows the masked current value, never the value."""

    def __init__(self, *args, masked: str = "", **kwargs):
        kwargs["render_value"] = False  # never the stored secret
        super().__init__(*args, **kwargs)
        self.masked = masked

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if self.masked:
            context["widget"]["attrs"]["placeholder"] = self.masked
        return context


class SiteForm(forms.ModelForm):
    """Edits a site; an empty secret box keeps the stored secret."""

    bento_secret_key = forms.CharField(
        label=_("Bento secret key"),
        required=False,
        strip=True,
        help_text=_("Stored encrypted. Leave empty to keep the current key."),
    )

    class Meta:
        model = get_site_model()
        fields = ["team", "name", "bento_site_uuid", "bento_publishable_key", "bento_secret_key"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance.bento_secret_key if self.instance.pk else ""
        self.fields["bento_secret_key"].widget = SecretInput(masked=mask(current))

    def clean_bento_secret_key(self):
        value = self.cleaned_data.get("bento_secret_key")
        if not value and self.instance.pk:
            return self.instance.bento_secret_key
        return value


class StripeAccountForm(forms.ModelForm):
    """Edits a connection: the site dropdown offers the connection's team's sites only."""

    class Meta:
        model = StripeAccount
        fields = ["team", "site", "stripe_user_id", "livemode", "scope", "display_name"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        team_id = self.instance.team_id if self.instance.pk else self.data.get("team")
        if team_id and "site" in self.fields:
            site_field = cast(forms.ModelChoiceField, self.fields["site"])
            site_field.queryset = get_site_model().objects.filter(team_id=team_id)

    def clean(self):
        cleaned = super().clean()
        data = self.cleaned_data  # what ModelForm.clean returns (typed Optional)
        site, team = data.get("site"), data.get("team") or self.instance.team
        if site and team and site.team_id != team.pk:
            self.add_error("site", _("Choose a site of this connection's team."))
        return cleaned
