"""Parts of the Application that the apps following it fill in (exams now; the review and the licence later).

The contract's Application shows exam bookings and attempts, but `applications` never imports the apps that follow
it. So each of them registers, when Django starts, how to render its member and what to prefetch for it; the
serializer and the selectors ask here. A member nobody registered renders its default.
"""

from collections.abc import Callable
from typing import Any

_renderers: dict[str, Callable[[Any], Any]] = {}
_prefetches: list = []


def register(member: str, render: Callable[[Any], Any], *prefetch) -> None:
    """`render(application)` gives the member's value; `prefetch` are `prefetch_related` lookups it reads."""
    _renderers[member] = render
    for lookup in prefetch:
        if lookup not in _prefetches:
            _prefetches.append(lookup)


def render(member: str, application, default=None):
    renderer = _renderers.get(member)
    return renderer(application) if renderer is not None else default


def prefetches() -> list:
    return list(_prefetches)


def nothing_yet() -> dict:
    """The prefetch cache of an application just created: none of the registered members has a row yet."""
    return {getattr(lookup, "prefetch_to", lookup): [] for lookup in _prefetches
            if "__" not in getattr(lookup, "prefetch_to", lookup)}
