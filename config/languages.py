"""The language of the current request, as one of the three the service speaks."""

from django.utils.translation import get_language

SERVICE_LANGUAGES = ("kk", "ru", "en")


def current_language() -> str:
    language = (get_language() or "kk")[:2]
    return language if language in SERVICE_LANGUAGES else "kk"
