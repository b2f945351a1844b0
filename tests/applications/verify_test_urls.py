"""config.urls with the verify page mounted at /verify/, for as long as config.urls does not mount it yet."""

from django.urls import include, path

from config import urls as project_urls

handler404 = project_urls.handler404
handler500 = project_urls.handler500

_mounted = any(getattr(pattern, "app_name", None) == "verify" for pattern in project_urls.urlpatterns)
urlpatterns = [
    *([] if _mounted else [path("verify/", include("applications.verify_urls"))]),
    *project_urls.urlpatterns,
]
