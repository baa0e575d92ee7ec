"""``stripe/health/`` and ``stripe/metrics/``, beside the webhook URL (docs/operations/health.rst).

The views live with the webhook's URLconf, which mounts them; what they report is computed
in ``bento_stripe.operations`` (a lower layer, which imports no views).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from ..api.authentication import TokenAuthentication
from ..conf import app_settings
from ..operations import health, metrics
from ..policy import get_team_policy
from .client_ip import client_ip


def _user(request: HttpRequest) -> Any:
    """The caller: a session user, or the user of an API token (``Authorization: Token``)."""
    if request.headers.get("Authorization"):
        try:
            found = TokenAuthentication().authenticate(Request(request))
        except AuthenticationFailed:
            return None
        return found[0] if found else None
    user = getattr(request, "user", None)
    return user if getattr(user, "is_authenticated", False) else None


def staff_scope(request: HttpRequest) -> metrics.Scope | None:
    """What a staff caller may see: all for superusers, their managed teams for other staff;
    None for anyone else."""
    user = _user(request)
    if user is None or not user.is_active or not user.is_staff:
        return None
    if user.is_superuser:
        return metrics.Scope()
    teams = frozenset(get_team_policy().teams(user, manage=True).values_list("pk", flat=True))
    return metrics.Scope(team_ids=teams) if teams else None


@login_not_required
@never_cache
def health_view(request: HttpRequest) -> HttpResponse:
    """Readiness: ``{"status": ...}`` for anyone; ``checks`` for staff and their tokens."""
    if request.method not in ("GET", "HEAD"):
        return JsonResponse({"error": "GET only."}, status=405)
    status, checks = health.run_checks()
    body: dict[str, Any] = {"status": status}
    # With the database down nobody can be authenticated: the status is all there is.
    if checks["database"].status != health.DOWN and staff_scope(request) is not None:
        body["checks"] = {name: check.as_dict() for name, check in checks.items()}
    return JsonResponse(body, status=503 if status == health.DOWN else 200)


def _allowed_scraper(request: HttpRequest) -> bool:
    address = client_ip(request)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for network in app_settings.METRICS_ALLOWED_IPS or ():
        if ip in ipaddress.ip_network(str(network), strict=False):
            return True
    return False


@login_not_required
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text for staff and allow-listed scrapers; 404 when off or for others."""
    if not app_settings.METRICS_ENABLED:
        raise Http404("Metrics are off (BENTO_STRIPE['METRICS_ENABLED']).")
    scope = metrics.Scope() if _allowed_scraper(request) else staff_scope(request)
    if scope is None:
        raise Http404("No metrics here.")
    return HttpResponse(metrics.render(scope), content_type=CONTENT_TYPE_LATEST)
