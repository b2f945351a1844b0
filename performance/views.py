"""The performance dashboard (/staff/performance/) and its tables as CSV, for supervisors and administrators; any
other role (and a citizen) finds no page here."""

import csv
import functools

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from accounts.staff_views import PERFORMANCE_ROLES, staff_required

from . import tables
from .forms import DashboardFilterForm


def supervisor_required(view):
    """A signed-in supervisor or administrator (with the second factor where staff pages ask for it)."""

    @staff_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.role not in PERFORMANCE_ROLES:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _errors(form) -> list[tuple[str, str]]:
    return [(form[name].id_for_label, error) for name, errors in form.errors.items() for error in errors]


@never_cache
@require_safe
@supervisor_required
def dashboard(request):
    form = DashboardFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "staff/performance/dashboard.html", {"form": form, "error_links": _errors(form)},
                      status=400)
    filters = form.filters()
    context = {"form": form, "filters": filters, "query": request.GET.urlencode()}
    for key, build in tables.TABLES.items():
        table, chart = build(filters)
        context[key.replace("-", "_")] = {"table": table, "chart": chart}
    return render(request, "staff/performance/dashboard.html", context)


@never_cache
@require_safe
@supervisor_required
def table_csv(request, table: str):
    build = tables.TABLES.get(table)
    if build is None:
        raise Http404
    form = DashboardFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return HttpResponse(_("The filters are not right: open the dashboard to see why."), status=400,
                            content_type="text/plain; charset=utf-8")
    filters = form.filters()
    rendered, _chart = build(filters)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (f'attachment; filename="kualik-{table}-{filters.date_from:%Y%m%d}-'
                                       f'{filters.date_to:%Y%m%d}.csv"')
    csv.writer(response).writerows(rendered.csv_rows())
    return response
