from django.urls import include, path

from config.health import healthz

urlpatterns = [
    path("healthz", healthz),
    path("sandbox/registries/", include("registries.sandbox.urls")),
    path("api/v1/sandbox/", include("registries.sandbox.api_urls")),
]
