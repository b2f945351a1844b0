"""A test urlconf: the project's URLs with the sandbox payment provider's pay page mounted at `sandbox/pay/`, as the
web process mounts it in sandbox mode (added here too for as long as config.urls does not mount it itself)."""

from django.urls import include, path

from config import urls as project_urls

_mounted = any(str(getattr(pattern, "pattern", "")) == "sandbox/pay/" for pattern in project_urls.urlpatterns)

urlpatterns = [
    *([] if _mounted else [path("sandbox/pay/", include("registries.sandbox.pay_urls"))]),
    *project_urls.urlpatterns,
]

handler404 = project_urls.handler404
handler500 = project_urls.handler500
