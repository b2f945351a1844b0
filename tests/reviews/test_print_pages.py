"""The police officer's print queue: who may see it, what waits and in which order, a batch that prints each card
(and reports the ones it could not), a reprint that needs a reason and supersedes the earlier card, and the card PDF.
Printing asks the person registry: the live sandbox answers, under a consent granted there."""

import datetime
import re

import pytest
from django.utils import timezone

from accounts.models import Role
from applications.models import Application, CardPrint, Consent, Licence, PersonalDataAccess, Status
from applications.services import verify_licence_code
from applications.workflow import move_application
from registries.sandbox.models import ConsentStatus, SandboxConsentRequest
from reviews.services import print_licence
from tests.factories import StaffFactory, UserFactory
from tests.reviews.test_pages import under_review

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
PRINT = "/staff/review/print/"
BATCH = "/staff/review/print/batch/"


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    """Notices are queued after commit, not sent: these tests look at the pages."""
    jobs = []
    monkeypatch.setattr("config.jobs.enqueue", lambda task_name, *args: jobs.append((task_name, args)))
    return jobs


@pytest.fixture
def officer(client):
    user = StaffFactory(username="p.aliya", role=Role.POLICE_OFFICER)
    client.force_login(user)
    return user


@pytest.fixture
def registry(sandbox, settings):
    """The live sandbox, with a read timeout that a cold live server's first answer (seconds) fits in."""
    settings.REGISTRY_TIMEOUTS = {"default": {"connect": 2.0, "read": 10.0}}
    return sandbox


def approved(sandbox=None, *, approved_at: datetime.datetime | None = None, **person) -> Application:
    """An application the police approved. With the sandbox, its citizen is known there and has granted consent
    for the person registry, which printing asks."""
    application = under_review()
    if sandbox is not None:
        citizen = sandbox.add(**person)
        consent = SandboxConsentRequest.objects.create(
            iin=citizen["iin"], application=application.number, channel="bank", purpose="first_issue",
            registries=["person"], language="en", status=ConsentStatus.GRANTED, decided_at=timezone.now())
        Application.objects.filter(pk=application.pk).update(iin=citizen["iin"])
        Consent.objects.create(application=application, request_id=str(consent.id), channel=application.channel,
                               state=Consent.State.GRANTED, registries=["person"], granted_at=timezone.now())
    approver = StaffFactory(username="p.approver", role=Role.POLICE_OFFICER)
    move_application(application_id=application.pk, transition="approve", actor=approver)
    if approved_at is not None:
        Application.objects.filter(pk=application.pk).update(decided_at=approved_at)
    return Application.objects.get(pk=application.pk)


def ago(**delta) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**delta)


def waiting(page: str) -> list[str]:
    return re.findall(r'data-testid="print-row" data-application="([0-9a-f-]+)"', page)


def printed_today(page: str) -> list[str]:
    return re.findall(r'data-testid="printed-row" data-application="([0-9a-f-]+)"', page)


def reprint_url(application) -> str:
    return f"/staff/review/print/{application.pk}/reprint/"


def card_url(licence) -> str:
    return f"/staff/review/licences/{licence.number}/card.pdf"


# --- who may see the pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.TSON_OPERATOR, Role.EXAMINER, Role.ADMIN, Role.CITIZEN])
def test_the_print_pages_do_not_exist_for_other_roles(client, registry, role):
    waiting_one = approved(registry)
    printed = print_licence(application=approved(registry), officer=StaffFactory(username="p.printer",
                                                                                role=Role.POLICE_OFFICER))
    licence = Licence.objects.get(application=printed)
    client.force_login(UserFactory(role=role, username=f"someone-{role}"))
    assert client.get(PRINT).status_code == 404
    assert client.post(BATCH, {"application": [str(waiting_one.pk)]}).status_code == 404
    assert client.post(reprint_url(printed), {"reason": "Jammed"}).status_code == 404
    assert client.get(card_url(licence)).status_code == 404
    assert Application.objects.get(pk=waiting_one.pk).status == Status.APPROVED
    assert licence.cards.count() == 1
    assert not PersonalDataAccess.objects.filter(role=role).exists()


def test_someone_not_signed_in_is_asked_to_sign_in(client):
    response = client.get(PRINT)
    assert response.status_code == 302 and response["Location"].startswith("/staff/signin/?next=")


def test_the_review_queue_links_to_the_print_queue(client, officer):
    assert f'href="{PRINT}"' in client.get("/staff/review/", **EN).content.decode()


# --- the queue ------------------------------------------------------------------------------------------------


def test_the_print_queue_lists_approved_applications_the_earliest_approved_first(client, officer):
    newest = approved(approved_at=ago(minutes=5))
    oldest = approved(approved_at=ago(days=2))
    middle = approved(approved_at=ago(hours=3))
    under_review()  # not decided yet
    response = client.get(PRINT, **EN)
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("<h1") == 1
    assert waiting(page) == [str(oldest.pk), str(middle.pk), str(newest.pk)]
    assert re.search(r'data-testid="count">\s*3 cards wait to be printed', page)
    row = page[page.index(f'data-application="{oldest.pk}"'):page.index(f'data-application="{middle.pk}"')]
    assert oldest.number in row and "First driving licence" in row and ">B<" in row
    assert oldest.pickup_tson.name_in() in row
    assert timezone.localtime(oldest.decided_at).strftime("%d.%m.%Y %H:%M") in row
    assert f'<label for="print-{oldest.pk}">' in row and 'name="application"' in row
    assert 'data-testid="none-printed-today"' in page


def test_an_empty_print_queue_says_so(client, officer):
    page = client.get(PRINT, **EN).content.decode()
    assert 'data-testid="empty-print-queue"' in page and "0 cards wait to be printed" in page


def test_printing_with_nothing_selected_is_an_error_that_links_to_the_list(client, officer):
    application = approved()
    response = client.post(BATCH, {}, **EN)
    page = response.content.decode()
    assert response.status_code == 400
    summary = page[page.index('data-testid="error-summary"'):page.index("</ul>")]
    assert 'href="#print-title"' in summary and "Select at least one application to print its card." in summary
    assert Application.objects.get(pk=application.pk).status == Status.APPROVED
    assert client.post(BATCH, {"application": ["not-an-id"]}, **EN).status_code == 400


# --- printing -------------------------------------------------------------------------------------------------


def test_a_batch_prints_each_selected_card_and_moves_them_to_printed(client, officer, registry):
    first = approved(registry, approved_at=ago(hours=2))
    second = approved(registry, approved_at=ago(hours=1))
    untouched = approved(registry)
    response = client.post(BATCH, {"application": [str(second.pk), str(first.pk)]}, **EN)
    assert response.status_code == 302 and response["Location"] == PRINT
    licences = {}
    for application in (first, second):
        application.refresh_from_db()
        assert application.status == Status.PRINTED
        licences[application.pk] = licence = Licence.objects.get(application=application)
        [card] = licence.cards.all()
        assert card.printed_by == officer and card.superseded_at is None and card.verification_code
    assert licences[first.pk].number < licences[second.pk].number  # numbered in the queue's order
    assert Application.objects.get(pk=untouched.pk).status == Status.APPROVED

    page = client.get(PRINT, **EN).content.decode()
    report = page[page.index('data-testid="print-report"'):page.index("<h1")]
    assert "2 cards printed:" in report and "not printed" not in report
    for application in (first, second):
        assert f"application {application.number}, licence {licences[application.pk].number}" in report
    assert waiting(page) == [str(untouched.pk)]
    assert printed_today(page) == [str(second.pk), str(first.pk)]  # the latest first
    printed = page[page.index('data-testid="printed-today"'):]
    assert "p.aliya" in printed and f'href="{card_url(licences[first.pk])}"' in printed
    assert "Open the card (PDF)" in printed and "Print again" in printed
    # The report is shown once.
    assert 'data-testid="print-report"' not in client.get(PRINT, **EN).content.decode()


def test_a_card_the_person_registry_cannot_answer_for_is_reported_and_the_batch_goes_on(client, officer, registry):
    failing = approved(registry, approved_at=ago(hours=2), faults={"person": "error"})
    fine = approved(registry, approved_at=ago(hours=1))
    response = client.post(BATCH, {"application": [str(failing.pk), str(fine.pk)]}, **EN)
    assert response.status_code == 302
    assert Application.objects.get(pk=failing.pk).status == Status.APPROVED
    assert not Licence.objects.filter(application=failing).exists()
    assert Application.objects.get(pk=fine.pk).status == Status.PRINTED

    page = client.get(PRINT, **EN).content.decode()
    report = page[page.index('data-testid="print-report"'):page.index("<h1")]
    assert "1 card printed:" in report and "1 card was not printed:" in report
    failed = report[report.index('data-testid="failed-report"'):]
    assert f'<a href="#print-{failing.pk}">{failing.number}</a>' in failed
    assert "The person registry does not answer" in failed
    assert waiting(page) == [str(failing.pk)]
    assert re.search(rf'id="print-{failing.pk}" data-testid="select" checked', page)  # ticked, to try again
    assert printed_today(page) == [str(fine.pk)]


def test_an_application_printed_meanwhile_is_reported_as_printed_already(client, officer, registry):
    application = approved(registry)
    print_licence(application=application, officer=StaffFactory(username="p.other", role=Role.POLICE_OFFICER))
    assert client.post(BATCH, {"application": [str(application.pk)]}, **EN).status_code == 302
    page = client.get(PRINT, **EN).content.decode()
    failed = page[page.index('data-testid="failed-report"'):page.index("<h1")]
    assert f"{application.number}: It was printed already." in failed
    assert Licence.objects.get(application=application).cards.count() == 1


def test_the_application_page_prints_an_approved_card(client, officer, registry):
    application = approved(registry)
    page = client.get(f"/staff/review/applications/{application.pk}/", **EN).content.decode()
    assert 'data-testid="print-card"' in page and "Print the card" in page
    assert f'name="application" value="{application.pk}"' in page
    response = client.post(BATCH, {"application": [str(application.pk)]}, **EN)
    assert response.status_code == 302 and response["Location"] == PRINT
    assert Application.objects.get(pk=application.pk).status == Status.PRINTED
    page = client.get(f"/staff/review/applications/{application.pk}/", **EN).content.decode()
    assert 'data-testid="print-card"' not in page


# --- printing again -------------------------------------------------------------------------------------------


def printed_by_officer(registry, officer) -> tuple[Application, Licence]:
    application = print_licence(application=approved(registry), officer=officer)
    return application, Licence.objects.get(application=application)


def test_printing_again_needs_a_reason(client, officer, registry):
    application, licence = printed_by_officer(registry, officer)
    response = client.post(reprint_url(application), {"reason": "   "}, **EN)
    page = response.content.decode()
    assert response.status_code == 400
    summary = page[page.index('data-testid="error-summary"'):page.index("</ul>")]
    assert f'href="#reason-{application.pk}"' in summary and "Say why the card is printed again." in summary
    form = page[page.index(f'action="{reprint_url(application)}"'):]
    assert 'class="form-group form-group--error"' in form and 'aria-invalid="true"' in form
    assert licence.cards.count() == 1


def test_printing_again_keeps_the_number_and_supersedes_the_earlier_card(client, officer, registry):
    application, licence = printed_by_officer(registry, officer)
    earlier = licence.cards.get()
    response = client.post(reprint_url(application), {"reason": "The card jammed in the printer"}, **EN)
    assert response.status_code == 302 and response["Location"] == PRINT
    cards = list(CardPrint.objects.filter(licence=licence).order_by("printed_at", "id"))
    assert [card.pk for card in cards][0] == earlier.pk and len(cards) == 2
    earlier, current = cards
    assert earlier.superseded_at is not None and current.superseded_at is None
    assert current.reprint_reason == "The card jammed in the printer" and current.printed_by == officer
    assert Licence.objects.get(application=application).number == licence.number
    assert verify_licence_code(earlier.verification_code)["status"] == "replaced"
    assert verify_licence_code(current.verification_code)["status"] == "valid"

    page = client.get(PRINT, **EN).content.decode()
    assert f"The card of licence {licence.number} is printed again" in page
    assert printed_today(page) == [str(application.pk)]  # one row per card waiting at the TSON
    assert "Printed again: The card jammed in the printer" in page


def test_a_card_handed_over_cannot_be_printed_again(client, officer, registry):
    application, licence = printed_by_officer(registry, officer)
    operator = StaffFactory(username="desk-operator", role=Role.TSON_OPERATOR)
    move_application(application_id=application.pk, transition="hand_over", actor=operator)
    response = client.post(reprint_url(application), {"reason": "Spoiled"}, **EN)
    assert response.status_code == 302
    assert "Only a printed card that waits at the TSON can be printed again." in client.get(
        PRINT, **EN).content.decode()
    assert licence.cards.count() == 1


# --- the card -------------------------------------------------------------------------------------------------


def test_the_card_pdf_is_served_to_the_police_and_the_read_is_logged(client, officer, registry):
    application, licence = printed_by_officer(registry, officer)
    before = PersonalDataAccess.objects.filter(application=application, actor_user=officer).count()
    response = client.get(card_url(licence))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert f'filename="licence-{licence.number}.pdf"' in response["Content-Disposition"]
    reads = PersonalDataAccess.objects.filter(application=application, actor_user=officer)
    assert reads.count() == before + 1
    assert reads.last().purpose == PersonalDataAccess.Purpose.CASE_HANDLING
    assert client.get("/staff/review/licences/KZ0000000000/card.pdf").status_code == 404
