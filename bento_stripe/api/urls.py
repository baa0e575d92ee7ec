"""URLs of the REST API: ``path("api/", include("bento_stripe.api.urls"))``."""

from django.urls import path, re_path
from rest_framework.routers import APIRootView, DefaultRouter

from .authentication import AUTHENTICATION_CLASSES
from .errors import ErrorShapeMixin, NotFoundView
from .events import StripeEventViewSet
from .schema import DocsView, SchemaView
from .subscribers import SubscriberViewSet
from .views import SiteViewSet, StripeAccountViewSet, TeamViewSet

app_name = "bento_stripe_api"


class RootView(ErrorShapeMixin, APIRootView):
    """The browsable root: the API's own authentication and error shape, like its endpoints."""

    authentication_classes = AUTHENTICATION_CLASSES


router = DefaultRouter()
router.APIRootView = RootView
router.register("teams", TeamViewSet, basename="team")
router.register("sites", SiteViewSet, basename="site")
router.register("stripe-accounts", StripeAccountViewSet, basename="stripeaccount")
router.register(
    r"stripe-accounts/(?P<account_pk>[0-9]+)/events", StripeEventViewSet, basename="stripeevent"
)
router.register("subscribers", SubscriberViewSet, basename="subscriber")

urlpatterns = [
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(), name="docs"),
    *router.urls,
    # Anything else under the API: a 404 in the API's error shape, not an HTML page.
    re_path(r"^[\s\S]*$", NotFoundView.as_view()),
]
