"""The host's rule: any seat views an organization; owners and editors manage it."""

from __future__ import annotations

from bento_stripe.policy import TeamPolicy

from .models import Organization, Seat

MANAGING_LEVELS = (Seat.Level.OWNER, Seat.Level.EDITOR)


class SeatPolicy(TeamPolicy):
    def _seats(self, user, *, manage: bool = False):
        if not getattr(user, "is_authenticated", False):
            return Seat.objects.none()
        seats = Seat.objects.filter(user=user)
        return seats.filter(level__in=MANAGING_LEVELS) if manage else seats

    def teams(self, user, *, manage: bool = False):
        return Organization.objects.filter(
            pk__in=self._seats(user, manage=manage).values("organization")
        )

    def roles(self, user):
        return dict(self._seats(user).values_list("organization_id", "level"))

    def role_label(self, role: str) -> str:
        return str(Seat.Level(role).label) if role in Seat.Level.values else role
