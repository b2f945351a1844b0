"""The dashboard's tables: each figure of the selectors as columns and rows, shown on the page (in the reader's
language) and exported as CSV (stable column names, codes and plain numbers). Codes, counts and durations only:
nothing here names a person."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from applications.models import Channel, RefusalReason, Registry, Service, Status
from applications.refusals import REFUSALS, REVIEW_STEP

from . import charts, selectors

SERVICE_CSS = {Service.FIRST_ISSUE: "fill-1", Service.REPLACEMENT: "fill-2", Service.FOREIGN_EXCHANGE: "fill-3"}
STEP_LABELS = {selectors.TO_PRINTED: gettext_lazy("From the application to the printed licence")}
CIRCUIT_LABELS = {"closed": gettext_lazy("Closed: requests go through"),
                  "open": gettext_lazy("Open: requests are not made"),
                  "half_open": gettext_lazy("Half-open: one trial request at a time"),
                  "unknown": gettext_lazy("Unknown: the shared state could not be read")}
REGISTRY_LABELS = {"sms": gettext_lazy("SMS gateway"), "payment": gettext_lazy("Payment provider")}


@dataclass
class Column:
    name: str  # the CSV's column
    heading: str  # the page's
    numeric: bool = False


@dataclass
class Table:
    key: str
    caption: str
    columns: list[Column]
    rows: list[list[tuple[object, str]]]  # each cell: (the CSV's value, the page's text)

    def display_rows(self) -> list[list[tuple[str, str]]]:
        """Each row's cells as (heading, text): a narrow screen shows each cell under its heading."""
        return [[(column.heading, text) for column, (_value, text) in zip(self.columns, row, strict=True)]
                for row in self.rows]

    def csv_rows(self) -> list[list[object]]:
        return [[column.name for column in self.columns],
                *[[value for value, _text in row] for row in self.rows]]


def _number(value) -> str:
    return number_format(value, force_grouping=True)


def _cell(value) -> tuple[object, str]:
    return value, _number(value)


def duration(seconds: float | None) -> str:
    """A duration for the reader: seconds, minutes, hours or days, two units at most."""
    if seconds is None:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return _("%(seconds)s s") % {"seconds": seconds}
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("%(minutes)s min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
    days, hours = divmod(hours, 24)
    return _("%(days)s d %(hours)s h") % {"days": days, "hours": hours}


def _seconds_cell(seconds: float | None) -> tuple[object, str]:
    return ("" if seconds is None else round(seconds, 1)), duration(seconds)


def _label(choices, code: str) -> str:
    return str(dict(choices).get(code, code))


def registry_label(name: str) -> str:
    return str(REGISTRY_LABELS.get(name) or dict(Registry.choices).get(name, name))


def days_of(filters: selectors.Filters) -> list[datetime.date]:
    return [filters.date_from + datetime.timedelta(days=n) for n in range((filters.date_to - filters.date_from).days
                                                                           + 1)]


# The tables ------------------------------------------------------------------------------------------------------


def applications_table(filters) -> tuple[Table, dict]:
    rows = selectors.applications_per_day(filters)
    table = Table("applications", _("Applications per day, by service and channel"), [
        Column("day", _("Day")), Column("service", _("Service")), Column("channel", _("Channel")),
        Column("applications", _("Applications"), numeric=True)],
        [[(row["day"].isoformat(), date_format(row["day"], "SHORT_DATE_FORMAT")),
          (row["service"], _label(Service.choices, row["service"])),
          (row["channel"], _label(Channel.choices, row["channel"])), _cell(row["count"])] for row in rows])
    by_service: dict[str, dict] = {}
    by_channel: dict[str, int] = {}
    for row in rows:  # the grouped rows: at most one per day, service and channel
        counts = by_service.setdefault(row["service"], {})
        counts[row["day"]] = counts.get(row["day"], 0) + row["count"]
        by_channel[row["channel"]] = by_channel.get(row["channel"], 0) + row["count"]
    days = days_of(filters)
    chart = {
        "columns": charts.stacked_columns(days, [(SERVICE_CSS[code], by_service.get(code, {}))
                                                 for code in Service.values]),
        "legend": [(SERVICE_CSS[code], label, sum(by_service.get(code, {}).values()))
                   for code, label in Service.choices],
        "channels": charts.hbars([charts.Bar(str(label), _number(by_channel.get(code, 0)),
                                             [charts.Segment(by_channel.get(code, 0), "fill-1")], key=code)
                                  for code, label in Channel.choices]),
        "total": sum(by_channel.values()),
        "first_day": days[0], "last_day": days[-1],
    }
    return table, chart


def funnel_table(filters) -> tuple[Table, dict]:
    rows = selectors.funnel(filters)
    table = Table("funnel", _("Applications that reached each step, and those waiting there now"), [
        Column("status", _("Step")), Column("reached", _("Reached it"), numeric=True),
        Column("waiting_now", _("There now"), numeric=True)],
        [[(row["status"], _label(Status.choices, row["status"])), _cell(row["reached"]), _cell(row["waiting"])]
         for row in rows])
    bars = charts.hbars([
        charts.Bar(_label(Status.choices, row["status"]),
                   _("%(reached)s reached, %(waiting)s there now") % {"reached": _number(row["reached"]),
                                                                     "waiting": _number(row["waiting"])},
                   [charts.Segment(row["waiting"], "fill-2"),
                    charts.Segment(max(row["reached"] - row["waiting"], 0), "fill-1")], key=row["status"])
        for row in rows])
    return table, {"bars": bars}


def _refusal_step_and_reason(refusal_code: str, officer_reason_code: str) -> tuple[str, str, str, str]:
    """(step code, step, reason code, reason) of a refusal, from the codes alone."""
    if refusal_code == "officer_refused":
        reason = RefusalReason.by_code().get(officer_reason_code)
        return ("review", str(REVIEW_STEP), officer_reason_code,
                reason.title_in() if reason else (officer_reason_code or _("No reason chosen")))
    refusal = REFUSALS.get(refusal_code)
    if refusal is None:
        return "", _("Unknown step"), refusal_code, refusal_code
    return str(refusal.step), str(refusal.step_name), refusal_code, str(refusal.reason)


def refusals_table(filters) -> tuple[Table, dict]:
    rows = selectors.refusals(filters)
    cells, by_step = [], {}
    for row in rows:
        step_code, step, reason_code, reason = _refusal_step_and_reason(row["refusal_code"],
                                                                        row["officer_reason_code"])
        cells.append([(step_code, step), (reason_code, reason), _cell(row["count"])])
        by_step[step] = by_step.get(step, 0) + row["count"]
    table = Table("refusals", _("Refusals by step and reason"), [
        Column("step", _("Step")), Column("reason", _("Reason")), Column("refusals", _("Refusals"), numeric=True)],
        cells)
    bars = charts.hbars([charts.Bar(step, _number(count), [charts.Segment(count, "fill-error")])
                         for step, count in sorted(by_step.items(), key=lambda item: -item[1])])
    return table, {"bars": bars, "total": sum(by_step.values())}


def step_times_table(filters) -> tuple[Table, dict]:
    spreads = selectors.step_times(filters)
    steps = [*selectors.TIMED_STEPS, selectors.TO_PRINTED]
    rows = []
    for step in steps:
        spread = spreads.get(step) or selectors.Spread(0, None, None)
        label = str(STEP_LABELS.get(step) or _label(Status.choices, step))
        rows.append((step, label, spread))
    table = Table("step-times", _("Time spent in each step: median and 90th percentile"), [
        Column("status", _("Step")), Column("applications", _("Applications that left it"), numeric=True),
        Column("median_seconds", _("Median"), numeric=True), Column("p90_seconds", _("90th percentile"),
                                                                     numeric=True)],
        [[(step, label), _cell(spread.count), _seconds_cell(spread.median), _seconds_cell(spread.p90)]
         for step, label, spread in rows])
    measured = [(step, label, spread) for step, label, spread in rows if spread.count and step != selectors.TO_PRINTED]
    bars = charts.hbars([
        charts.Bar(label, _("median %(median)s, 90%% within %(p90)s") % {"median": duration(spread.median),
                                                                        "p90": duration(spread.p90)},
                   [charts.Segment(spread.median or 0, "fill-2"),
                    charts.Segment(max((spread.p90 or 0) - (spread.median or 0), 0), "fill-1")], key=step)
        for step, label, spread in measured])
    to_printed = spreads.get(selectors.TO_PRINTED)
    return table, {"bars": bars, "to_printed": to_printed,
                   "to_printed_median": duration(to_printed.median if to_printed else None),
                   "to_printed_p90": duration(to_printed.p90 if to_printed else None)}


def replacements_table(filters) -> tuple[Table, dict]:
    target = selectors.replacement_target(filters)
    share = None if target.share is None else round(100 * target.share, 1)
    table = Table("replacements", _("Replacements printed within the target"), [
        Column("target_minutes", _("Target, minutes"), numeric=True),
        Column("replacements_counted", _("Replacements printed"), numeric=True),
        Column("within_target", _("Within the target"), numeric=True),
        Column("over_target", _("Over the target"), numeric=True),
        Column("share_within_percent", _("Share within, %"), numeric=True),
        Column("median_system_seconds", _("Median time the system added"), numeric=True),
        Column("held_by_registry_outage", _("Left out: held by a registry outage"), numeric=True)],
        [[_cell(target.minutes), _cell(target.counted), _cell(target.within), _cell(target.over),
          ("" if share is None else share, "—" if share is None else _number(share)),
          _seconds_cell(target.median_seconds), _cell(target.held_by_outage)]])
    bar = charts.hbars([charts.Bar(_("Replacements printed"), "", [charts.Segment(target.within, "fill-ok"),
                                                                   charts.Segment(target.over, "fill-error")])])
    return table, {"target": target, "share": share, "bar": bar[0]}


def tsons_table(filters) -> tuple[Table, dict]:
    rows = selectors.tsons(filters)
    table = Table("tsons", _("Per TSON: exam seats, photos and cards waiting"), [
        Column("centre", _("Centre")), Column("exam_seats_booked", _("Exam seats booked"), numeric=True),
        Column("exam_seats_free", _("Exam seats free"), numeric=True),
        Column("photos_taken", _("Photos taken"), numeric=True),
        Column("cards_waiting", _("Cards waiting for pickup"), numeric=True)],
        [[(row["centre"].code, f"{row['centre'].name_in()}, {row['centre'].city_in()}"),
          _cell(row["seats_booked"]), _cell(row["seats_free"]), _cell(row["photos"]), _cell(row["cards_waiting"])]
         for row in rows])
    seat_bars = charts.hbars([
        charts.Bar(row["centre"].name_in(), _("%(booked)s booked, %(free)s free") % {
            "booked": _number(row["seats_booked"]), "free": _number(row["seats_free"])},
            [charts.Segment(row["seats_booked"], "fill-2"), charts.Segment(row["seats_free"], "fill-1")],
            key=row["centre"].code)
        for row in rows if row["seats_booked"] or row["seats_free"]])
    card_bars = charts.hbars([
        charts.Bar(row["centre"].name_in(), _number(row["cards_waiting"]),
                   [charts.Segment(row["cards_waiting"], "fill-3")], key=row["centre"].code)
        for row in rows if row["cards_waiting"]])
    return table, {"seat_bars": seat_bars, "card_bars": card_bars}


def registries_table(filters) -> tuple[Table, dict]:
    rows = selectors.registries(filters)
    table = Table("registries", _("Registry health: answers, errors, latency and circuits"), [
        Column("registry", _("Registry")), Column("answers", _("Answers"), numeric=True),
        Column("errors", _("Errors"), numeric=True), Column("pending", _("Pending"), numeric=True),
        Column("latency_median_ms", _("Median latency, ms"), numeric=True),
        Column("latency_p90_ms", _("90th percentile latency, ms"), numeric=True),
        Column("circuit", _("Circuit breaker now"))],
        [[(row["registry"], registry_label(row["registry"])), _cell(row["answers"]), _cell(row["errors"]),
          _cell(row["pending"]), *[_latency_cell(row["latency"], part) for part in ("median", "p90")],
          (row["circuit"], str(CIRCUIT_LABELS[row["circuit"]]))] for row in rows])
    bars = charts.hbars([
        charts.Bar(registry_label(row["registry"]), _("%(answers)s answers, %(errors)s errors") % {
            "answers": _number(row["answers"]), "errors": _number(row["errors"])},
            [charts.Segment(row["answers"], "fill-ok"), charts.Segment(row["errors"], "fill-error")],
            key=row["registry"])
        for row in rows if row["answers"] or row["errors"]])
    open_circuits = [registry_label(row["registry"]) for row in rows if row["circuit"] in ("open", "half_open")]
    return table, {"bars": bars, "open_circuits": open_circuits}


def _latency_cell(spread, part: str) -> tuple[object, str]:
    value = getattr(spread, part) if spread else None
    return ("", "—") if value is None else (round(value, 1), _number(round(value)))


TABLES: dict[str, Callable] = {
    "applications": applications_table,
    "funnel": funnel_table,
    "refusals": refusals_table,
    "step-times": step_times_table,
    "replacements": replacements_table,
    "tsons": tsons_table,
    "registries": registries_table,
}
