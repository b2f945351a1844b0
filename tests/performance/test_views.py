"""The dashboard page and its CSV tables: who may see them, the figures shown against generated data, the filters,
the CSV content, nothing personal anywhere, and a number of queries that does not grow with the applications."""

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from performance import tables
from tests.factories import StaffFactory, UserFactory
from tests.performance.data import make_dataset

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
PAGE = "/staff/performance/"
WEEK = {"date_from": "2026-03-01", "date_to": "2026-03-07"}
CSV_TABLES = ("applications", "funnel", "refusals", "step-times", "replacements", "tsons", "registries")


@pytest.fixture
def dataset():
    return make_dataset()


@pytest.fixture
def supervisor(client):
    user = StaffFactory(username="s.dana", role=Role.SUPERVISOR)
    client.force_login(user)
    return user


def read_csv(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode())))


# --- who may see it ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.CITIZEN, Role.TSON_OPERATOR, Role.EXAMINER, Role.POLICE_OFFICER])
def test_the_dashboard_and_its_csv_do_not_exist_for_other_roles(client, role):
    client.force_login(UserFactory(role=role, username=f"someone-{role}"))
    assert client.get(PAGE).status_code == 404
    for table in CSV_TABLES:
        assert client.get(f"{PAGE}{table}.csv").status_code == 404


def test_someone_not_signed_in_is_sent_to_the_staff_sign_in_and_sees_no_figure(client):
    for url in (PAGE, f"{PAGE}funnel.csv"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/staff/signin/?next=")


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
def test_supervisors_and_administrators_see_it_and_their_home_links_to_it(client, role):
    client.force_login(StaffFactory(username=f"boss-{role}", role=role))
    assert client.get(PAGE, **EN).status_code == 200
    home = client.get("/staff/", **EN).content.decode()
    assert 'data-testid="performance-link"' in home and 'href="/staff/performance/"' in home
    assert client.get(f"{PAGE}funnel.csv").status_code == 200


def test_other_staff_homes_do_not_link_to_it(client):
    client.force_login(StaffFactory(username="p.aliya", role=Role.POLICE_OFFICER))
    assert "performance-link" not in client.get("/staff/", **EN).content.decode()


def test_the_second_factor_is_asked_for_as_on_every_staff_page(client, settings):
    settings.STAFF_REQUIRE_OTP = True
    client.force_login(StaffFactory(username="s.dana", role=Role.SUPERVISOR))  # a password, no code
    response = client.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith("/staff/signin/")


def test_an_unknown_table_is_404(client, supervisor):
    assert client.get(f"{PAGE}people.csv").status_code == 404


# --- the page -------------------------------------------------------------------------------------------------


def test_the_page_shows_the_figures_of_the_generated_data(client, supervisor, dataset):
    page = client.get(PAGE, WEEK, **EN).content.decode()
    assert "9 applications in all." in page
    assert re.search(r'data-testid="target-share">50\.0% within the target: 1 of 2 printed replacements', page)
    assert "From the application to the printed licence: median 2 h 30 min, 90th percentile 3 h 10 min" in page
    assert 'data-testid="applications-chart"' in page and "<rect" in page
    assert 'data-bar="printed"' in page and "3 reached, 3 there now" in page
    assert "No circuit is open now." in page
    assert "The photo does not meet the requirements" in page  # the officer's reason, from the catalogue
    for table in CSV_TABLES:
        assert f'data-testid="table-{table}"' in page
        assert f'href="/staff/performance/{table}.csv?date_from=2026-03-01&amp;date_to=2026-03-07"' in page


def test_the_page_shows_nothing_personal(client, supervisor, dataset):
    page = client.get(PAGE, WEEK, **EN).content.decode()
    everything_csv = "".join(client.get(f"{PAGE}{table}.csv", WEEK).content.decode() for table in CSV_TABLES)
    for application in dataset.applications.values():
        for personal in (application.iin, application.number, str(application.pk)):
            if personal:
                assert personal not in page and personal not in everything_csv


def test_the_default_is_the_last_30_days(client, supervisor):
    page = client.get(PAGE, **EN).content.decode()
    assert re.search(r'name="date_from" value="\d{4}-\d{2}-\d{2}"', page)
    assert "0 applications in all." in page


@pytest.mark.parametrize("language, text", [("kk", "lang=\"kk\""), ("ru", "lang=\"ru\""), ("en", "lang=\"en\"")])
def test_the_page_speaks_each_language(client, supervisor, dataset, language, text):
    response = client.get(PAGE, WEEK, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200 and text in response.content.decode()


def test_filters_narrow_the_page(client, supervisor, dataset):
    page = client.get(PAGE, {**WEEK, "service": "replacement", "channel": "bank"}, **EN).content.decode()
    assert "2 applications in all." in page  # A2 and A3
    page = client.get(PAGE, {**WEEK, "tson": dataset.t2.pk}, **EN).content.decode()
    assert "2 applications in all." in page  # A3 and F3


def test_wrong_filters_are_explained_with_links_to_the_fields(client, supervisor):
    response = client.get(PAGE, {"date_from": "2026-03-07", "date_to": "2026-03-01", "service": "boat"}, **EN)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'href="#id_date_to"' in page and 'href="#id_service"' in page
    assert "The last day must be the first day or after it." in page
    assert client.get(f"{PAGE}funnel.csv", {"date_from": "yesterday"}).status_code == 400


# --- CSV ------------------------------------------------------------------------------------------------------


def test_the_funnel_csv(client, supervisor, dataset):
    rows = read_csv(client.get(f"{PAGE}funnel.csv", WEEK))
    assert rows == [["status", "reached", "waiting_now"],
                    ["consent_pending", "9", "1"], ["checks_running", "8", "0"], ["eligible", "7", "0"],
                    ["theory_exam", "2", "1"], ["practical_exam", "1", "0"], ["formalization", "5", "0"],
                    ["under_review", "5", "0"], ["approved", "4", "1"], ["printed", "3", "3"], ["issued", "0", "0"],
                    ["refused", "2", "2"], ["cancelled", "1", "1"]]


def test_the_step_times_and_replacements_csv(client, supervisor, dataset):
    rows = read_csv(client.get(f"{PAGE}step-times.csv", WEEK))
    assert rows[0] == ["status", "applications", "median_seconds", "p90_seconds"]
    assert ["checks_running", "8", "150.0", "1140.0"] in rows
    assert ["to_printed", "3", "9000.0", "11400.0"] in rows
    assert ["printed", "0", "", ""] in rows
    rows = read_csv(client.get(f"{PAGE}replacements.csv", WEEK))
    assert rows == [["target_minutes", "replacements_counted", "within_target", "over_target", "share_within_percent",
                     "median_system_seconds", "held_by_registry_outage"], ["60", "2", "1", "1", "50.0", "2760.0", "1"]]


def test_the_other_csv_tables(client, supervisor, dataset):
    assert read_csv(client.get(f"{PAGE}refusals.csv", WEEK)) == [
        ["step", "reason", "refusals"], ["5", "licence_exists", "1"], ["review", "photo_unsuitable", "1"]]
    assert read_csv(client.get(f"{PAGE}tsons.csv", WEEK)) == [
        ["centre", "exam_seats_booked", "exam_seats_free", "photos_taken", "cards_waiting"],
        ["t2", "0", "0", "2", "2"], ["t1", "9", "6", "3", "2"]]  # by city, then name: Almaly before Esil
    registries = read_csv(client.get(f"{PAGE}registries.csv", WEEK))
    assert ["person", "4", "0", "0", "310.0", "850.0", "closed"] in registries
    applications = read_csv(client.get(f"{PAGE}applications.csv", {**WEEK, "channel": "bank"}))
    assert applications == [["day", "service", "channel", "applications"],
                            ["2026-03-01", "first_issue", "bank", "1"], ["2026-03-02", "replacement", "bank", "1"],
                            ["2026-03-03", "replacement", "bank", "1"], ["2026-03-07", "first_issue", "bank", "1"]]
    response = client.get(f"{PAGE}applications.csv", WEEK)
    assert response["Content-Disposition"] == 'attachment; filename="kualik-applications-20260301-20260307.csv"'


def test_every_table_has_its_csv():
    assert set(tables.TABLES) == set(CSV_TABLES)


# --- cost -----------------------------------------------------------------------------------------------------


def test_the_number_of_queries_does_not_grow_with_the_applications(client, supervisor):
    make_dataset()
    client.get(PAGE, WEEK)  # warm the per-process caches (the refusal catalogue)
    with CaptureQueriesContext(connection) as few:
        assert client.get(PAGE, WEEK).status_code == 200
    make_dataset(prefix="more-")
    make_dataset(prefix="again-")
    with CaptureQueriesContext(connection) as many:
        assert client.get(PAGE, WEEK).status_code == 200
    assert len(many) == len(few), [query["sql"][:120] for query in many.captured_queries]
    assert len(few) <= 25, len(few)
