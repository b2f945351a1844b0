"""The caller's IP address, read as the API's throttles read it (NUM_PROXIES trusted proxies in front)."""

from rest_framework.throttling import BaseThrottle


def client_ip(request) -> str:
    return BaseThrottle().get_ident(request)
