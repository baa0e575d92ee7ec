"""URLs of the REST API: ``path("api/", include("bento_stripe.api.urls"))``."""

from rest_framework.routers import DefaultRouter

from .views import SiteViewSet, StripeAccountViewSet, SubscriberViewSet, TeamViewSet

app_name = "bento_stripe_api"

router = DefaultRouter()
router.register("teams", TeamViewSet, basename="team")
router.register("sites", SiteViewSet, basename="site")
router.register("stripe-accounts", StripeAccountViewSet, basename="stripeaccount")
router.register("subscribers", SubscriberViewSet, basename="subscriber")

urlpatterns = router.urls
