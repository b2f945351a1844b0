"""The theory exam on a centre's terminal, and the portal's practice mode, over the same question bank.

- The examiner opens the session for a booked applicant after checking their identity; the questions are drawn
  once, and the deadline set once, on the server. Opening again (a terminal that crashed) issues a new terminal token
  for the same session: the old terminal stops working, nothing restarts.
- The browser holds a random token (only its hash is kept) and is shown one question at a time, never which option
  is right. An answer after the deadline is refused and not counted; the session then ends by itself.
- The score goes through `record_exam_result`, the same service as the API's result.

Locks: the application, then the session, then the booking (the kernel's order, extended).
"""

import datetime
import hashlib
import hmac
import random
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.models import Status
from applications.workflow import lock

from ..errors import ExamError, ExamErrorCode
from ..models import AnswerOption, Booking, ExamKind, ExamRules, Question, TheorySession
from .results import RESULT_OPENS_BEFORE, record_exam_result

_random = random.SystemRandom()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def questions_for(categories) -> "Q":
    """Questions of every category, and those of any of these categories."""
    return Q(is_active=True) & (Q(categories__isnull=True) | Q(categories__code__in=list(categories)))


def _draw(categories, count: int) -> list[int]:
    ids = list(Question.objects.filter(questions_for(categories)).values_list("pk", flat=True).distinct())
    if len(ids) < count:
        raise ExamError(ExamErrorCode.VALIDATION_ERROR,
                        _("The question bank has %(found)d questions for these categories; the exam needs "
                          "%(needed)d. An administrator must add questions.") % {"found": len(ids), "needed": count})
    return _random.sample(ids, count)


@dataclass
class Opened:
    session: TheorySession
    token: str  # give it to the terminal's browser; it is not kept


@transaction.atomic
def open_theory_session(*, booking_id, actor, identity_checked: bool) -> Opened:
    if not identity_checked:
        raise ExamError(ExamErrorCode.VALIDATION_ERROR, _("Confirm that you checked the applicant's identity "
                                                          "document."), field="identity_checked")
    application_id = Booking.objects.filter(pk=booking_id, kind=ExamKind.THEORY).values_list(
        "application_id", flat=True).first()
    if application_id is None:
        raise ExamError(ExamErrorCode.NOT_FOUND, _("Not found."))
    application = lock(application_id).application
    booking = Booking.objects.select_for_update(of=("self",)).select_related("slot").get(pk=booking_id)
    now = timezone.now()
    token = secrets.token_urlsafe(32)
    existing = TheorySession.objects.select_for_update().filter(booking=booking).first()
    if existing is not None:
        if existing.finished_at is not None:
            raise ExamError(ExamErrorCode.WRONG_STATUS, _("This exam has already been taken."))
        existing.terminal_token_hash = _digest(token)
        existing.save(update_fields=["terminal_token_hash"])
        return Opened(existing, token)
    if booking.status != Booking.State.BOOKED or application.status != Status.THEORY_EXAM:
        raise ExamError(ExamErrorCode.WRONG_STATUS, _("This booking has no exam to take."))
    if now < booking.slot.starts_at - RESULT_OPENS_BEFORE:
        raise ExamError(ExamErrorCode.WRONG_STATUS, _("The exam can be opened from one hour before it starts."))
    rules = ExamRules.current()
    if now >= booking.slot.starts_at + datetime.timedelta(hours=rules.no_show_after_hours):
        raise ExamError(ExamErrorCode.WRONG_STATUS, _("This exam was hours ago: the applicant did not come."))
    session = TheorySession.objects.create(
        booking=booking, language=application.language or "kk",
        question_ids=_draw(application.categories, rules.theory_questions), terminal_token_hash=_digest(token),
        opened_by=actor, started_at=now, deadline=now + datetime.timedelta(minutes=rules.theory_minutes))
    return Opened(session, token)


def session_for_terminal(session_id, token: str) -> TheorySession | None:
    """The session this terminal's token opens; None for any other token."""
    session = TheorySession.objects.select_related("booking__slot__centre").filter(pk=session_id).first()
    if session is None or not token or not hmac.compare_digest(session.terminal_token_hash, _digest(token)):
        return None
    return session


@dataclass
class ShownQuestion:
    index: int  # 0-based position in the session
    question: Question
    options: list[AnswerOption]
    chosen: int | None


def question_at(session: TheorySession, index: int) -> ShownQuestion:
    if not 0 <= index < len(session.question_ids):
        raise ExamError(ExamErrorCode.NOT_FOUND, _("Not found."))
    question_id = session.question_ids[index]
    question = Question.objects.prefetch_related("options").get(pk=question_id)
    return ShownQuestion(index, question, list(question.options.all()), session.answers.get(str(question_id)))


def answer_question(*, session_id, index: int, option_id: int, now: datetime.datetime | None = None) -> TheorySession:
    """Keep the applicant's choice; after the deadline nothing is kept and the session ends."""
    now = now or timezone.now()
    with transaction.atomic():
        session = TheorySession.objects.select_for_update().get(pk=session_id)
        if session.finished_at is not None:
            raise ExamError(ExamErrorCode.WRONG_STATUS, _("This exam is over."))
        if now >= session.deadline:
            expired = True
        else:
            expired = False
            if not 0 <= index < len(session.question_ids):
                raise ExamError(ExamErrorCode.NOT_FOUND, _("Not found."))
            question_id = session.question_ids[index]
            if not AnswerOption.objects.filter(pk=option_id, question_id=question_id).exists():
                raise ExamError(ExamErrorCode.VALIDATION_ERROR, _("Choose one of the answers shown."),
                                field="option")
            session.answers = {**session.answers, str(question_id): int(option_id)}
            session.save(update_fields=["answers"])
    if expired:
        finish_theory_session(session_id=session_id, now=now)
        raise ExamError(ExamErrorCode.WRONG_STATUS, _("Time is up: answers given after the limit are not counted."))
    return session


def score(session: TheorySession) -> int:
    chosen = [int(option) for option in session.answers.values()]
    return AnswerOption.objects.filter(pk__in=chosen, is_correct=True,
                                       question_id__in=session.question_ids).count()


def finish_theory_session(*, session_id, now: datetime.datetime | None = None) -> TheorySession:
    """Count the answers and record the result (once: a finished session stays as it is)."""
    now = now or timezone.now()
    application_id = (TheorySession.objects.filter(pk=session_id)
                      .values_list("booking__application_id", flat=True).first())
    if application_id is None:
        raise ExamError(ExamErrorCode.NOT_FOUND, _("Not found."))
    with transaction.atomic():
        lock(application_id)
        session = TheorySession.objects.select_for_update().get(pk=session_id)
        if session.finished_at is not None:
            return session
        correct = score(session)
        session.correct, session.finished_at = correct, min(now, session.deadline)
        session.save(update_fields=["correct", "finished_at"])
        booking = Booking.objects.get(pk=session.booking_id)
        if booking.status == Booking.State.BOOKED:
            record_exam_result(booking_id=booking.pk, passed=ExamRules.current().theory_passed(correct),
                               score=correct, actor=session.opened_by, now=now)
    return session


def finish_expired_sessions(*, now: datetime.datetime | None = None) -> int:
    """Sessions whose time ran out with nobody pressing "finish" (a closed tab): ended by the beat."""
    now = now or timezone.now()
    expired = list(TheorySession.objects.filter(finished_at__isnull=True, deadline__lte=now)
                   .values_list("pk", flat=True)[:500])
    for session_id in expired:
        finish_theory_session(session_id=session_id, now=now)
    return len(expired)


# ---------------------------------------------------------------------------------------------------------------
# Practice on the portal: any visitor, untimed, nothing stored


def practice_question(*, category: str | None = None, exclude: int | None = None) -> Question | None:
    queryset = Question.objects.filter(questions_for([category] if category else [])) if category else \
        Question.objects.filter(is_active=True)
    ids = list(queryset.exclude(pk=exclude).values_list("pk", flat=True).distinct()) if exclude else \
        list(queryset.values_list("pk", flat=True).distinct())
    if not ids:
        return None
    return Question.objects.prefetch_related("options").get(pk=_random.choice(ids))


@dataclass
class PracticeVerdict:
    question: Question
    options: list[AnswerOption]
    chosen: int
    correct: bool


def check_practice_answer(*, question_id, option_id) -> PracticeVerdict:
    question = Question.objects.prefetch_related("options").filter(pk=question_id, is_active=True).first()
    if question is None:
        raise ExamError(ExamErrorCode.NOT_FOUND, _("Not found."))
    options = list(question.options.all())
    chosen = next((option for option in options if option.pk == option_id), None)
    if chosen is None:
        raise ExamError(ExamErrorCode.VALIDATION_ERROR, _("Choose one of the answers shown."), field="option")
    return PracticeVerdict(question, options, chosen.pk, chosen.is_correct)
