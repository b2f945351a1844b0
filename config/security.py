"""The Permissions-Policy header, with a per-view opt-in for the camera.

Hand-written: django-permissions-policy sets one header for every response, with no way for a single page to allow
the camera.
"""

from functools import wraps

from django.conf import settings

HEADER = "Permissions-Policy"


def policy(*, camera: bool = False) -> str:
    """Every feature in PERMISSIONS_POLICY_DENIED off; the camera for this site only where a page allows it."""
    return ", ".join(f"{feature}=(self)" if feature == "camera" and camera else f"{feature}=()"
                     for feature in settings.PERMISSIONS_POLICY_DENIED)


def allow_camera(view):
    """For the page where the photo is taken: the browser may offer this site the camera there, and nowhere else."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response.headers[HEADER] = policy(camera=True)
        return response

    return wrapped


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault(HEADER, policy())
        return response
