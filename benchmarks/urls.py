"""The example project's URLs plus the ingest baselines: a bare view and dj-stripe's stock one."""

from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from example_project.urls import urlpatterns as example_urlpatterns


@csrf_exempt
def bare(request):
    """The ceiling: Django reads the POST body and answers, touching nothing else."""
    return HttpResponse(str(len(request.body)), content_type="text/plain")


urlpatterns = [
    path("bench/bare/", bare),
    # What a user of dj-stripe alone gets: its ProcessWebhookView at /djstripe/webhook/<uuid>/.
    path("djstripe/", include("djstripe.urls", namespace="djstripe")),
    *example_urlpatterns,
]
