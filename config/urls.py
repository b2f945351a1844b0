from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView

from .health import healthz

if settings.STAFF_REQUIRE_OTP:
    # Production: the admin asks for a TOTP code on top of the password.
    from django_otp.admin import OTPAdminSite

    admin.site.__class__ = OTPAdminSite

admin.site.site_header = "Kuälik"
admin.site.site_title = "Kuälik"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
]
