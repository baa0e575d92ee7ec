"""The backfill's progress as JSON, polled by the review page (same access rule as the page)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ..backfill import services as backfill
from .access import account_for


@login_required
@require_GET
@never_cache
def backfill_state(request, team_id: int, pk: int):
    """``{"state", "done", "percent", "objects_done", "resources": [...]}`` of the connection."""
    account, _team, _role = account_for(request, team_id, pk)
    return JsonResponse(backfill.state(account).as_dict())
