"""The review queue: what waits for the police, oldest first, with filters and a count; fast at a million
applications (a partial index per filter over what is under review; see Application.Meta.indexes)."""

import datetime

from django.db.models import QuerySet
from django.utils import timezone

from applications.models import Application, Centre, Status


def review_queue(*, service: str | None = None, channel: str | None = None, centre: str | None = None,
                 min_days_waiting: int | None = None) -> QuerySet[Application]:
    queryset = Application.objects.filter(status=Status.UNDER_REVIEW)
    if service:
        queryset = queryset.filter(service=service)
    if channel:
        queryset = queryset.filter(channel=channel)
    if centre:
        # By the centre's id, not a join on its code: the planner then takes this filter's own index.
        queryset = queryset.filter(pickup_tson_id=Centre.objects.filter(code=centre).values("pk")[:1])
    if min_days_waiting:
        queryset = queryset.filter(under_review_since__lte=timezone.now() - datetime.timedelta(days=min_days_waiting))
    return queryset.select_related("pickup_tson", "review_claim__officer").order_by("under_review_since", "id")
