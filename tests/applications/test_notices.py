"""Notices by SMS and email: written once per language as templates, sent after commit, recorded once per channel,
retried while a channel fails, and listed on the citizen's timeline."""

import smtplib
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.models import Role
from applications import tasks
from applications.models import Application, Notice, PersonalDataAccess, RefusalReason, Status, StatusChange
from applications.services import notices
from applications.workflow import move_application
from registries.results import Outcome, RegistryAnswer
from tests.factories import CentreFactory, StaffFactory, application_at_exams

pytestmark = pytest.mark.django_db

KAZAKH_LETTERS = set("әғқңөұүһі")
CYRILLIC = set("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")
TEMPLATES = Path(settings.BASE_DIR) / "templates" / "notices"


class SmsGateway:
    """The SMS gateway client as the notices see it: what it was asked to send, and the answer it gives."""

    def __init__(self):
        self.sent: list[str] = []
        self.outcome = Outcome.PASSED

    def send(self, *, text: str, iin: str | None = None, phone: str | None = None) -> RegistryAnswer:
        if self.outcome == Outcome.PASSED:
            self.sent.append(text)
        return RegistryAnswer("sms", self.outcome)


class DownMailServer(BaseEmailBackend):
    """A mail server that cannot be reached."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("connection unexpectedly closed")


@pytest.fixture
def gateway(monkeypatch):
    gateway = SmsGateway()
    monkeypatch.setattr(notices.sms_client, "send", gateway.send)
    return gateway


@pytest.fixture
def exam_centre():
    return CentreFactory(code="notice-centre", name="Астана ХҚКО", name_ru="ЦОН Астаны", name_en="Astana TSON",
                         address="Астана, Мәңгілік Ел 1", address_ru="Астана, Мангилик Ел 1",
                         address_en="Astana, Mangilik El 1", offers_exams=True)


def applicant(*, language: str = "en", email: str = "citizen@example.kz") -> Application:
    application = application_at_exams()
    Application.objects.filter(pk=application.pk).update(notify_language=language, email=email)
    return Application.objects.get(pk=application.pk)


def sample_details(event: str, centre_code: str) -> dict:
    """The JSON each event's service queues (exams: booking.py and results.py; fees: formalization.py)."""
    booking = {"booking_id": 7, "kind": "theory", "centre": centre_code,
               "starts_at": (timezone.now() + timezone.timedelta(days=1)).isoformat()}
    return {
        "exam_booked": booking, "exam_cancelled": booking, "exam_reminder": booking,
        "exam_result": {"booking_id": 7, "kind": "practical", "passed": True, "score": 12},
        "exam_no_show": {"booking_id": 7, "kind": "theory", "counted": True},
        "fee_paid": {"payment_id": str(uuid.uuid4()), "amount_kzt": 5406},
        "fee_declined": {"payment_id": str(uuid.uuid4())},
        "submitted": {"status": Status.THEORY_EXAM},
    }.get(event, {})


def every_event() -> list[str]:
    """The registered events and every event a template exists for."""
    written = {path.name.split(".")[0] for path in (TEMPLATES / "en").glob("*.sms.txt")}
    return sorted(set(notices.NOTICE_CONTEXTS) | written)


def test_every_language_has_the_same_notice_templates():
    files = {language: sorted(path.name for path in (TEMPLATES / language).iterdir())
             for language in notices.LANGUAGES}
    assert files["kk"] == files["ru"] == files["en"]
    for event in every_event():
        assert f"{event}.sms.txt" in files["en"] and f"{event}.email.txt" in files["en"], event


@pytest.mark.parametrize("language", notices.LANGUAGES)
@pytest.mark.parametrize("event", every_event())
def test_each_event_renders_an_sms_and_an_email_in_each_language(event, language, exam_centre):
    application = applicant(language=language)
    Application.objects.filter(pk=application.pk).update(refusal_code="officer_refused",
                                                         refusal_comment="Photo is blurred")
    application.refresh_from_db()

    notice = notices.render_notice(application, event, sample_details(event, exam_centre.code))

    assert notice.language == language
    assert notice.sms.startswith("Kuälik: ")
    assert event == "refused" or len(notice.sms) <= 320  # short: an SMS, not a letter
    assert notice.subject and "\n" not in notice.subject
    assert notice.body.count("\n") >= 2 and application.number in notice.body
    for text in (notice.sms, notice.subject, notice.body):
        assert "{" not in text and "}" not in text and "None" not in text
        letters = set(text.lower())
        if language == "kk":
            assert letters & KAZAKH_LETTERS, text
        elif language == "ru":
            assert letters & CYRILLIC and not letters & KAZAKH_LETTERS, text
        else:
            assert not letters & CYRILLIC, text


def test_the_texts_are_plain_text_never_html_escaped(gateway):
    application = applicant()
    Application.objects.filter(pk=application.pk).update(refusal_code="officer_refused",
                                                         refusal_comment='Name & "surname" <differ>')
    application.refresh_from_db()
    notice = notices.render_notice(application, "refused")
    assert 'Name & "surname" <differ>' in notice.sms
    assert 'Name & "surname" <differ>' in notice.body


def test_the_number_notice_keeps_its_words_in_english_and_russian():
    application = applicant(language="en")
    assert notices.notice_text(application, "submitted", {"status": Status.THEORY_EXAM}) == (
        f"Kuälik: your application number is {application.number}. Next: book the theory exam.")
    Application.objects.filter(pk=application.pk).update(notify_language="ru")
    application.refresh_from_db()
    assert notices.notice_text(application, "submitted", {"status": Status.FORMALIZATION}) == (
        f"Kuälik: номер вашего заявления {application.number}. "
        "Дальше: оплатите государственную пошлину и сфотографируйтесь.")


def test_a_notice_is_recorded_once_when_the_task_runs_twice(gateway):
    application = applicant()
    payment = {"payment_id": str(uuid.uuid4()), "amount_kzt": 5406}

    for _ in range(2):
        tasks.notify_citizen.apply(args=[str(application.pk), "fee_paid", payment]).get()

    assert len(gateway.sent) == 1 and "5,406 tenge" in gateway.sent[0]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["citizen@example.kz"]
    assert mail.outbox[0].from_email == settings.DEFAULT_FROM_EMAIL
    recorded = Notice.objects.filter(application=application)
    assert sorted(recorded.values_list("channel", flat=True)) == ["email", "sms"]
    assert set(recorded.values_list("key", flat=True)) == {f"fee_paid:{payment['payment_id']}"}
    assert recorded.get(channel="sms").text == gateway.sent[0]
    assert recorded.get(channel="email").text.startswith(mail.outbox[0].subject + "\n\n")

    # Another try at paying is another notice.
    tasks.notify_citizen.apply(args=[str(application.pk), "fee_declined", {"payment_id": str(uuid.uuid4())}]).get()
    assert len(gateway.sent) == 2 and len(mail.outbox) == 2


def test_the_sms_access_log_row_is_written_for_each_sms(gateway):
    application = applicant()
    notices.notify_citizen(application_id=application.pk, event="photo_taken")
    log = PersonalDataAccess.objects.filter(application=application, registry="sms",
                                            purpose=PersonalDataAccess.Purpose.NOTIFICATION)
    assert log.count() == 1


def test_the_email_goes_only_to_an_application_with_an_email(gateway):
    application = applicant(email="")
    assert notices.notify_citizen(application_id=application.pk, event="photo_taken") == notices.SENT
    assert len(gateway.sent) == 1
    assert mail.outbox == []
    assert list(Notice.objects.filter(application=application).values_list("channel", flat=True)) == ["sms"]


def test_a_failing_mail_server_does_not_lose_the_sms_and_leaves_the_email_to_a_retry(gateway, settings):
    application = applicant()
    settings.EMAIL_BACKEND = f"{__name__}.DownMailServer"

    assert notices.notify_citizen(application_id=application.pk, event="photo_taken") == notices.UNAVAILABLE
    assert len(gateway.sent) == 1
    assert list(Notice.objects.filter(application=application).values_list("channel", flat=True)) == ["sms"]
    with pytest.raises(tasks.RegistryWaiting):  # the task is retried later
        tasks.notify_citizen(str(application.pk), "photo_taken")

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notices.notify_citizen(application_id=application.pk, event="photo_taken") == notices.SENT
    assert len(gateway.sent) == 1  # the retry sends only the email
    assert len(mail.outbox) == 1
    assert Notice.objects.filter(application=application, status=Notice.State.SENT).count() == 2


def test_an_unavailable_sms_gateway_does_not_stop_the_email_and_is_tried_again(gateway):
    application = applicant()
    gateway.outcome = Outcome.UNAVAILABLE

    assert notices.notify_citizen(application_id=application.pk, event="photo_taken") == notices.UNAVAILABLE
    assert len(mail.outbox) == 1
    with pytest.raises(tasks.RegistryWaiting):
        tasks.notify_citizen(str(application.pk), "photo_taken")

    gateway.outcome = Outcome.PASSED
    assert notices.notify_citizen(application_id=application.pk, event="photo_taken") == notices.SENT
    assert len(gateway.sent) == 1 and len(mail.outbox) == 1


def test_the_last_try_records_a_channel_that_still_fails_as_not_delivered(gateway, settings):
    application = applicant()
    settings.EMAIL_BACKEND = f"{__name__}.DownMailServer"
    assert notices.notify_citizen(application_id=application.pk, event="photo_taken", last_try=True) == notices.SENT
    assert Notice.objects.get(application=application, channel="email").status == Notice.State.FAILED
    assert Notice.objects.get(application=application, channel="sms").status == Notice.State.SENT


def test_a_person_the_gateway_cannot_reach_is_recorded_as_not_delivered_without_retrying(gateway):
    application = applicant(email="")
    gateway.outcome = Outcome.FAILED
    assert notices.notify_citizen(application_id=application.pk, event="photo_taken") == notices.SENT
    assert Notice.objects.get(application=application).status == Notice.State.FAILED


def under_review(*, language: str) -> Application:
    application = applicant(language=language)
    application = move_application(application_id=application.pk, transition="pass_theory_exam")
    application = move_application(application_id=application.pk, transition="pass_practical_exam")
    Application.objects.filter(pk=application.pk).update(fee_paid_at=timezone.now(), photo_source="tson",
                                                         photo_captured_at=timezone.now())
    return move_application(application_id=application.pk, transition="complete_formalization")


def test_a_refusal_by_the_officer_tells_the_reason_and_the_comment_in_the_citizens_language(
        gateway, django_capture_on_commit_callbacks):
    RefusalReason.objects.create(code="photo_mismatch", title_kk="Сурет сәйкес емес",
                                 title_ru="Фотография не соответствует", title_en="The photo does not match")
    application = under_review(language="ru")
    officer = StaffFactory(role=Role.POLICE_OFFICER)

    with django_capture_on_commit_callbacks(execute=True):
        move_application(application_id=application.pk, transition="refuse_by_officer", actor=officer,
                         reason_code="photo_mismatch", comment="Сделайте новое фото в ЦОНе.")

    assert len(gateway.sent) == 1
    sms = gateway.sent[0]
    assert sms.startswith("Kuälik: в удовлетворении вашего заявления отказано.")
    assert "Фотография не соответствует" in sms and "Сделайте новое фото в ЦОНе." in sms
    assert "The photo does not match" not in sms and "Сурет сәйкес емес" not in sms
    assert "Фотография не соответствует" in mail.outbox[0].body
    assert Notice.objects.filter(application=application, event="refused").count() == 2


def test_an_approval_is_told_with_the_pickup_tson(gateway, django_capture_on_commit_callbacks):
    application = under_review(language="en")
    officer = StaffFactory(role=Role.POLICE_OFFICER)

    with django_capture_on_commit_callbacks(execute=True):
        move_application(application_id=application.pk, transition="approve", actor=officer)

    assert notices.event_for_move(from_status=Status.UNDER_REVIEW, to_status=Status.APPROVED) == "approved"
    assert len(gateway.sent) == 1 and "approved" in gateway.sent[0] and application.number in gateway.sent[0]
    assert application.pickup_tson.name in mail.outbox[0].body


def test_a_move_to_an_event_without_templates_sends_nothing_yet(gateway, monkeypatch,
                                                                  django_capture_on_commit_callbacks):
    monkeypatch.setitem(notices.MOVE_EVENTS, Status.PRACTICAL_EXAM, "no_such_event")
    application = applicant()
    with django_capture_on_commit_callbacks(execute=True):
        move_application(application_id=application.pk, transition="pass_theory_exam")
    assert gateway.sent == [] and not Notice.objects.exists()


def test_the_timeline_lists_the_notices_oldest_first_with_one_query(django_assert_num_queries):
    application = applicant()
    now = timezone.now()
    Notice.objects.create(application=application, event="photo_taken", channel="email", language="en",
                          text="Your photo is taken\n\nHello,", key="photo_taken",
                          sent_at=now - timezone.timedelta(minutes=5))
    Notice.objects.create(application=application, event="fee_paid", channel="sms", language="en",
                          text="Kuälik: the state fee & more", key="fee_paid:1", sent_at=now)
    Notice.objects.create(application=application, event="submitted", channel="sms", language="en",
                          text="Kuälik: your application number is X.", key="submitted",
                          sent_at=now - timezone.timedelta(hours=1), status=Notice.State.FAILED)
    application = Application.objects.get(pk=application.pk)

    with django_assert_num_queries(1), translation.override("en"):
        page = render_to_string("portal/_notices.html", {"application": application})

    positions = [page.index(text) for text in ("your application number is X.", "Your photo is taken<br>",
                                               "the state fee &amp; more")]
    assert positions == sorted(positions)
    assert page.count('data-testid="notice"') == 3
    assert "Not delivered" in page and "Email" in page and "SMS" in page


def test_the_timeline_of_an_application_without_notices_says_so(django_assert_num_queries):
    application = applicant()
    with django_assert_num_queries(1), translation.override("en"):
        page = render_to_string("portal/_notices.html", {"application": application})
    assert 'data-testid="notice"' not in page and "No messages yet" in page


def test_notice_keys_tell_occurrences_apart():
    assert notices.notice_key("exam_booked", {"booking_id": 3, "kind": "theory"}) == "exam_booked:3"
    assert notices.notice_key("fee_paid", {"payment_id": "p-1", "amount_kzt": 5406}) == "fee_paid:p-1"
    assert notices.notice_key("approved", {"status": "approved"}) == "approved"
    assert notices.notice_key("eligible", None) == "eligible"


def test_the_notice_task_is_acknowledged_only_when_done_and_retried():
    assert tasks.notify_citizen.acks_late is True
    assert tasks.notify_citizen.reject_on_worker_lost is True
    assert tasks.RegistryWaiting in tasks.notify_citizen.autoretry_for


def test_a_moves_notice_lost_with_the_broker_is_queued_again_by_the_sweep_once(gateway, settings):
    import datetime

    import time_machine

    application = under_review(language="en")
    officer = StaffFactory(role=Role.POLICE_OFFICER)
    # The move commits, but its notice task is lost (the on-commit callbacks are never run: a broker emptied).
    move_application(application_id=application.pk, transition="approve", actor=officer)
    assert gateway.sent == []
    assert tasks.sweep()["notices"] == 0  # too recent: its task may still be on its way

    later = timezone.now() + datetime.timedelta(seconds=settings.NOTICE_SWEEP_AFTER_SECONDS + 60)
    with time_machine.travel(later, tick=False):
        # (The factory's earlier moves have no notices either: they are queued too.)
        unsent = notices.unsent_move_notices(older_than=datetime.timedelta(minutes=15),
                                             within=datetime.timedelta(hours=6))
        assert (application.pk, "approved", Status.APPROVED) in unsent
        assert tasks.sweep()["notices"] == len(unsent)
        assert len([text for text in gateway.sent if "approved" in text]) == 1
        assert tasks.sweep()["notices"] == 0  # recorded now: never sent twice
        assert notices.unsent_move_notices(older_than=datetime.timedelta(minutes=15),
                                           within=datetime.timedelta(hours=6)) == []
    assert Notice.objects.filter(application=application, key="approved").count() == 2  # sms and email


def test_the_sweep_leaves_a_notice_already_sent_alone(
        gateway, settings, django_capture_on_commit_callbacks):
    import datetime

    import time_machine

    application = under_review(language="en")
    with django_capture_on_commit_callbacks(execute=True):
        move_application(application_id=application.pk, transition="approve",
                         actor=StaffFactory(role=Role.POLICE_OFFICER))
    assert len(gateway.sent) == 1
    later = timezone.now() + datetime.timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        unsent = notices.unsent_move_notices(older_than=datetime.timedelta(minutes=15),
                                             within=datetime.timedelta(hours=6))
        assert unsent and all(event != "approved" for _, event, _ in unsent)  # sent: left alone
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=7), tick=False):
        assert notices.unsent_move_notices(older_than=datetime.timedelta(minutes=15),
                                           within=datetime.timedelta(hours=6)) == []  # older than the window


def test_the_sweep_leaves_a_refusal_with_nobody_to_tell_alone(gateway):
    import datetime

    import time_machine

    application = applicant()
    # Refused because no registry knows the person: no phone either, so the notice is never sent nor recorded.
    Application.objects.filter(pk=application.pk).update(refusal_code="person_not_found")
    StatusChange.objects.create(application=application, from_status=Status.CHECKS_RUNNING,
                                to_status=Status.REFUSED, actor_kind=StatusChange.ActorKind.SYSTEM)
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=1), tick=False):
        unsent = notices.unsent_move_notices(older_than=datetime.timedelta(minutes=15),
                                             within=datetime.timedelta(hours=6))
    assert all(event != "refused" for _, event, _ in unsent)
