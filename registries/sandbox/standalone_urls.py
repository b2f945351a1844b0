from django.urls import include, path

from config.health import healthz, readyz

urlpatterns = [
    path("healthz", healthz),
    path("readyz", readyz),  # bench/checks.py waits on it
    path("sandbox/registries/", include("registries.sandbox.urls")),
    path("api/v1/sandbox/", include("registries.sandbox.api_urls")),
]
