"""The project's URLs, plus views that only tests need: one that fails, and a page that allows the camera."""

from django.http import HttpResponse
from django.urls import path

from config import urls as project_urls
from config.security import allow_camera


def fails(request):
    raise RuntimeError("a test of the 500 page")


@allow_camera
def takes_a_photo(request):
    return HttpResponse("<h1>photo</h1>")


urlpatterns = [
    path("test-only/fails", fails),
    path("api/v1/test-only/fails", fails),
    path("test-only/photo", takes_a_photo),
    *project_urls.urlpatterns,
]
handler404 = project_urls.handler404
handler500 = project_urls.handler500
