"""The exams' admin: every page opens, the question bank keeps exactly one correct option, the timetable generates
slots once, and bookings and theory sessions are read-only."""

import datetime

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from applications.models import Category
from exams.models import (
    AnswerOption,
    Booking,
    ExamRules,
    ExamSlot,
    PracticalFault,
    Question,
    TheorySession,
    WeeklySlot,
)
from tests.exams.conftest import make_question_bank
from tests.factories import CentreFactory, ExamSlotFactory, UserFactory, application_at_exams

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(UserFactory(username="exams-admin", role=Role.ADMIN, is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def booking():
    slot = ExamSlotFactory()
    return Booking.objects.create(application=application_at_exams(), slot=slot, kind=slot.kind)


@pytest.fixture
def session(booking, question_bank):
    chosen = question_bank[0].options.get(position=2)
    return TheorySession.objects.create(
        booking=booking, language="ru", question_ids=[question.pk for question in question_bank[:40]],
        answers={str(question_bank[0].pk): chosen.pk}, terminal_token_hash="0" * 64,
        opened_by=UserFactory(role=Role.EXAMINER), deadline=timezone.now() + datetime.timedelta(minutes=40))


def url(model, view, *args):
    return reverse(f"admin:exams_{model._meta.model_name}_{view}", args=args)


def test_every_page_opens(admin_client, session):
    ExamRules.current()
    line = WeeklySlot.objects.create(centre=session.booking.slot.centre, kind="theory", weekday=0,
                                     starts_at=datetime.time(9), capacity=5)
    fault = PracticalFault.objects.create(code="stall", part="autodrome", title_kk="Қозғалтқыш сөнді",
                                          title_ru="Заглох двигатель", title_en="Engine stalled", points=5)
    objects = {ExamRules: ExamRules.current(), WeeklySlot: line, ExamSlot: session.booking.slot,
               Booking: session.booking, TheorySession: session, PracticalFault: fault,
               Question: Question.objects.first()}
    for model, obj in objects.items():
        assert admin_client.get(url(model, "changelist")).status_code == 200, model
        assert admin_client.get(url(model, "changelist"), {"q": "B"}).status_code == 200, model
        assert admin_client.get(url(model, "change", obj.pk)).status_code == 200, model
    for model in (WeeklySlot, ExamSlot, PracticalFault, Question):
        assert admin_client.get(url(model, "add")).status_code == 200, model


def question_form(*, correct=(1,), existing=None, deleted=()):
    """The add or change form of a question with three options; `correct` are the positions marked correct."""
    options = list(existing.options.all()) if existing else [None] * 3
    data = {"reference": "admin-q", "topic": "signs", "text_kk": "Сұрақ", "text_ru": "Вопрос", "text_en": "",
            "explanation_kk": "", "explanation_ru": "", "explanation_en": "", "categories": [
                Category.objects.get(code="B").pk], "is_active": "on",
            "options-TOTAL_FORMS": "3", "options-INITIAL_FORMS": str(len(options) if existing else 0),
            "options-MIN_NUM_FORMS": "2", "options-MAX_NUM_FORMS": "1000"}
    for position, option in enumerate(options):
        data |= {f"options-{position}-position": str(position), f"options-{position}-text_kk": f"Жауап {position}",
                 f"options-{position}-text_ru": f"Ответ {position}", f"options-{position}-text_en": ""}
        if position in correct:
            data[f"options-{position}-is_correct"] = "on"
        if option is not None:
            data |= {f"options-{position}-id": str(option.pk), f"options-{position}-question": str(existing.pk)}
        if position in deleted:
            data[f"options-{position}-DELETE"] = "on"
    return data


def test_a_question_with_one_correct_option_is_saved(admin_client):
    response = admin_client.post(url(Question, "add"), question_form(correct=(1,)))
    assert response.status_code == 302
    question = Question.objects.get(reference="admin-q")
    assert list(question.options.values_list("position", "is_correct")) == [(0, False), (1, True), (2, False)]
    assert list(question.categories.values_list("code", flat=True)) == ["B"]


@pytest.mark.parametrize("correct", [(0, 2), ()], ids=["two", "none"])
def test_the_inline_refuses_two_correct_options_and_none(admin_client, correct):
    response = admin_client.post(url(Question, "add"), question_form(correct=correct))
    assert response.status_code == 200
    assert f"Mark exactly one option as correct (now: {len(correct)})." in response.content.decode()
    assert not Question.objects.exists()


def test_the_correct_mark_moves_to_another_option(admin_client):
    admin_client.post(url(Question, "add"), question_form(correct=(2,)))
    question = Question.objects.get()
    response = admin_client.post(url(Question, "change", question.pk), question_form(correct=(0,), existing=question))
    assert response.status_code == 302
    assert list(question.options.filter(is_correct=True).values_list("position", flat=True)) == [0]


def test_deleting_the_correct_option_needs_another_marked(admin_client):
    admin_client.post(url(Question, "add"), question_form(correct=(2,)))
    question = Question.objects.get()
    refused = admin_client.post(url(Question, "change", question.pk),
                                question_form(correct=(2,), existing=question, deleted=(2,)))
    assert "Mark exactly one option as correct (now: 0)." in refused.content.decode()
    accepted = admin_client.post(url(Question, "change", question.pk),
                                 question_form(correct=(1, 2), existing=question, deleted=(2,)))
    assert accepted.status_code == 302
    assert list(question.options.values_list("position", "is_correct")) == [(0, False), (1, True)]


def test_the_texts_in_kazakh_and_russian_are_required(admin_client):
    data = question_form() | {"text_kk": "", "options-0-text_ru": ""}
    assert admin_client.post(url(Question, "add"), data).status_code == 200
    assert not Question.objects.exists() and not AnswerOption.objects.exists()


def test_the_generate_action_creates_slots_once(admin_client):
    centre = CentreFactory(code="exam-centre", offers_exams=True)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    line = WeeklySlot.objects.create(centre=centre, kind="theory", weekday=tomorrow.weekday(),
                                     starts_at=datetime.time(10), capacity=12)
    line.categories.set(Category.objects.filter(code__in=["B", "C"]))
    off = WeeklySlot.objects.create(centre=centre, kind="practical", weekday=tomorrow.weekday(),
                                    starts_at=datetime.time(15), capacity=4, is_active=False)
    action = {"action": "generate_slots", "_selected_action": [line.pk, off.pk]}

    first = admin_client.post(url(WeeklySlot, "changelist"), action, follow=True).content.decode()
    slots = ExamSlot.objects.filter(schedule=line)
    created = slots.count()
    assert created in (4, 5)  # one weekday in 30 days
    assert f"{created} created, 0 were already there" in first
    assert "Timetable lines switched off, left out: 1." in first
    assert not ExamSlot.objects.filter(schedule=off).exists()
    assert all(slot.capacity == 12 and slot.category_codes() == ["B", "C"] for slot in slots)

    second = admin_client.post(url(WeeklySlot, "changelist"), action, follow=True).content.decode()
    assert ExamSlot.objects.count() == created
    assert f"0 created, {created} were already there" in second


def test_bookings_cannot_be_added_changed_or_deleted(admin_client, booking, rf):
    model_admin = admin.site._registry[Booking]
    request = rf.get("/")
    request.user = UserFactory(role=Role.ADMIN, is_staff=True, is_superuser=True)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, booking)
    assert not model_admin.has_delete_permission(request, booking)
    assert admin_client.get(url(Booking, "add")).status_code == 403
    assert admin_client.post(url(Booking, "change", booking.pk), {"status": "passed", "score": "40"}).status_code == 403
    assert admin_client.post(url(Booking, "delete", booking.pk), {"post": "yes"}).status_code == 403
    booking.refresh_from_db()
    assert (booking.status, booking.score) == ("booked", None)


def test_a_theory_session_is_read_only_and_does_not_show_the_answers(admin_client, session, question_bank):
    page = admin_client.get(url(TheorySession, "change", session.pk)).content.decode()
    chosen = AnswerOption.objects.get(pk=session.answers[str(question_bank[0].pk)])
    assert chosen.text_ru not in page and chosen.text_kk not in page
    assert f": {chosen.pk}" not in page and "terminal_token" not in page
    assert admin_client.post(url(TheorySession, "delete", session.pk), {"post": "yes"}).status_code == 403
    assert TheorySession.objects.filter(pk=session.pk).exists()


def test_a_slot_keeps_at_least_its_booked_seats(admin_client, booking):
    slot = booking.slot
    ExamSlot.objects.filter(pk=slot.pk).update(booked=3)
    response = admin_client.post(url(ExamSlot, "change", slot.pk), {"capacity": "2", "categories": [
        Category.objects.get(code="B").pk]})
    assert "3 seats are taken: the slot cannot have fewer seats." in response.content.decode()
    slot.refresh_from_db()
    assert slot.capacity == 10


def test_practical_faults_are_edited_in_the_admin(admin_client):
    fault = PracticalFault.objects.create(code="stall", part="autodrome", title_kk="Қозғалтқыш сөнді",
                                          title_ru="Заглох двигатель", title_en="Engine stalled", points=5)
    data = {"code": "stall", "part": "autodrome", "title_kk": fault.title_kk, "title_ru": fault.title_ru,
            "title_en": fault.title_en, "points": "7", "position": "1", "is_active": "on"}
    assert admin_client.post(url(PracticalFault, "change", fault.pk), data).status_code == 302
    fault.refresh_from_db()
    assert fault.points == 7


def test_the_question_bank_filters_demo_questions(admin_client):
    official, = make_question_bank(1)
    Question.objects.filter(pk=official.pk).update(reference="official-1")
    demo, = make_question_bank(1, categories=("B",))
    Question.objects.filter(pk=demo.pk).update(is_demo=True)
    page = admin_client.get(url(Question, "changelist"), {"is_demo__exact": "1"}).content.decode()
    assert demo.reference in page and "official-1" not in page
