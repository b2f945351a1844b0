"""A test urlconf: the sandbox mounted as the web process mounts it, plus a receiver for the consent callbacks."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

# What the fake caller received: the live server runs in the test's process, so a list is shared.
RECEIVED_CALLBACKS: list[dict] = []


@csrf_exempt
def record_callback(request: HttpRequest) -> HttpResponse:
    RECEIVED_CALLBACKS.append({"body": request.body, "signature": request.headers.get("X-Signature")})
    return HttpResponse(status=204)


urlpatterns = [
    path("sandbox/registries/", include("registries.sandbox.urls")),
    path("api/v1/sandbox/", include("registries.sandbox.api_urls")),
    path("test-callbacks/consent", record_callback),
]
