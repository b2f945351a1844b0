from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.defaults import page_not_found, server_error
from django.views.generic import RedirectView, TemplateView
from drf_spectacular.views import SpectacularAPIView

from registries import gateway
from registries.metrics import CircuitCollector

from .api import api_not_found, api_server_error
from .health import healthz, readyz
from .metrics import metrics

if settings.STAFF_REQUIRE_OTP:
    # Production: the admin asks for a TOTP code on top of the password.
    from django_otp.admin import OTPAdminSite

    admin.site.__class__ = OTPAdminSite

if settings.SANDBOX_MODE:
    # The registries played by the project itself (registries/PROTOCOL.md); never in production.
    from registries.sandbox import bench_views

    urlpatterns_sandbox = [
        # The baselines of bench/api.py.
        path("sandbox/bare", bench_views.bare, name="sandbox-bare"),
        path("sandbox/bare-write", bench_views.OneRowWrite.as_view(), name="sandbox-bare-write"),
        path("sandbox/registries/", include("registries.sandbox.urls")),
        path("sandbox/pay/", include("registries.sandbox.pay_urls")),
        path("api/v1/sandbox/", include("registries.sandbox.api_urls")),
    ]
else:
    urlpatterns_sandbox = []

admin.site.site_header = "Kuälik"
admin.site.site_title = "Kuälik"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    # Prometheus; the breakers' state is read from their shared storage at each scrape.
    path("metrics", metrics, {"collectors": (CircuitCollector(gateway.breaker, lambda: settings.REGISTRY_NAMES),)},
         name="metrics"),
    # The card-signing public keys (JWKS) where third parties look for them; the same as /api/v1/licences/keys.
    path(".well-known/kualik-licence-keys.json", RedirectView.as_view(url="/api/v1/licences/keys", permanent=False),
         name="well-known-licence-keys"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("staff/exams/", include("exams.staff_urls")),
    path("staff/desk/", include("applications.staff_urls")),
    path("staff/review/", include("reviews.staff_urls")),
    path("staff/performance/", include("performance.urls")),
    path("staff/", include("accounts.staff_urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/", include("applications.urls")),
    path("api/v1/", include("exams.urls")),
    path("api/v1/", include("reviews.urls")),
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("", include("applications.portal_urls")),
    path("", include("exams.portal_urls")),
    path("practice/", include("exams.practice_urls")),
    path("verify/", include("applications.verify_urls")),
    *urlpatterns_sandbox,
    # Last: any other path under /api/ (or an id that is not a UUID) is problem+json 404, with DEBUG on as well.
    re_path(r"^api/", api_not_found, name="api-not-found"),
]


def handler404(request, exception):
    if request.path.startswith("/api/"):
        return api_not_found(request, exception)
    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return api_server_error(request)
    return server_error(request)
