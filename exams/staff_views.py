"""The examiner's pages (/staff/exams/): the centre's day, a new slot, the practical exam sheet; and the theory exam
terminal, which the examiner opens in the applicant's browser and which afterwards only its cookie opens."""

import datetime
import functools
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import logout
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import Role
from accounts.staff_views import staff_required
from applications.models import Centre, PersonalDataAccess
from applications.services import log_staff_list_read

from . import selectors, services
from .errors import ExamError, ExamErrorCode
from .models import Booking, ExamKind, ExamRules, ExamSlot, PracticalFault, TheorySession
from .staff_forms import DayForm, PracticalSheetForm, SlotForm

CENTRE_KEY = "exams_centre"  # the session's memory of the examiner's centre (staff have none of their own yet)
TERMINAL_COOKIE = "exam_terminal"
# The terminal's cookie outlives the exam by this much, so that the result stays on screen.
TERMINAL_COOKIE_SPARE = datetime.timedelta(hours=2)


def examiner_required(view):
    """A signed-in examiner; any other staff role (and a citizen) finds no page here."""

    @staff_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.role != Role.EXAMINER:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _exam_centres() -> list[Centre]:
    return list(Centre.objects.filter(offers_exams=True, is_active=True).order_by("city", "name", "code"))


def _day_url(centre_code: str, day: datetime.date) -> str:
    return f"{reverse('exams_staff:day')}?{urlencode({'centre': centre_code, 'day': day.isoformat()})}"


# ---------------------------------------------------------------------------------------------------------------
# The day


def _day_rows(bookings: list[Booking], rules: ExamRules, open_errors: dict) -> list[dict]:
    rows = []
    for booking in bookings:
        session = getattr(booking, "theory_session", None)
        booked = booking.status == Booking.State.BOOKED
        rows.append({
            "booking": booking, "session": session,
            "answered": len(session.answers) if session else 0,
            "questions": len(session.question_ids) if session else rules.theory_questions,
            "may_open": booking.kind == ExamKind.THEORY and booked and (session is None or not session.finished_at),
            "may_sheet": booking.kind == ExamKind.PRACTICAL and booked,
            "open_error": open_errors.get(booking.pk),
        })
    return rows


def _render_day(request, *, centre_code: str = "", day: datetime.date | None = None, open_errors=None):
    centres = _exam_centres()
    chosen = (centre_code or request.GET.get("centre") or request.session.get(CENTRE_KEY)
              or (centres[0].code if len(centres) == 1 else ""))
    data = {"centre": chosen, "day": day.isoformat() if day else request.GET.get("day") or
            timezone.localdate().isoformat()}
    form = DayForm(data if chosen else None, initial=data, centres=centres)
    context = {"form": form, "centre": None, "open_errors": open_errors or {}}
    if form.is_bound and form.is_valid():
        centre = next(centre for centre in centres if centre.code == form.cleaned_data["centre"])
        day = form.cleaned_data["day"]
        request.session[CENTRE_KEY] = centre.code
        bookings = list(selectors.bookings_of_day(centre=centre, day=day))
        start, end = selectors.local_day_bounds(day)
        slots = (ExamSlot.objects.filter(centre=centre, starts_at__gte=start, starts_at__lt=end)
                 .prefetch_related("categories").order_by("starts_at", "id"))
        if bookings:
            # The IINs on this page are personal data read by the examiner: one access-log row per application.
            log_staff_list_read(application_ids=list(dict.fromkeys(booking.application_id for booking in bookings)),
                                user=request.user, purpose=PersonalDataAccess.Purpose.CASE_HANDLING,
                                what="application")
        rows = _day_rows(bookings, ExamRules.current(), context["open_errors"])
        # The error summary links to the row's checkbox, or to the row when it has no form any more.
        context["error_links"] = [(f"identity-{row['booking'].pk}" if row["may_open"] else
                                   f"booking-{row['booking'].pk}", row["open_error"])
                                  for row in rows if row["open_error"]]
        context.update(centre=centre, day=day, rows=rows, slots=slots,
                       previous_day=_day_url(centre.code, day - datetime.timedelta(days=1)),
                       next_day=_day_url(centre.code, day + datetime.timedelta(days=1)),
                       new_slot=f"{reverse('exams_staff:slot-new')}?"
                                f"{urlencode({'centre': centre.code, 'day': day.isoformat()})}")
    return render(request, "staff/exams/day.html", context, status=400 if open_errors else 200)


@never_cache
@require_safe
@examiner_required
def day_page(request):
    return _render_day(request)


# ---------------------------------------------------------------------------------------------------------------
# A new slot


@never_cache
@require_http_methods(["GET", "POST"])
@examiner_required
def new_slot(request):
    initial = {"centre": request.GET.get("centre") or request.session.get(CENTRE_KEY, ""),
               "date": request.GET.get("day") or timezone.localdate().isoformat()}
    form = SlotForm(request.POST if request.method == "POST" else None, initial=initial, centres=_exam_centres())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            slot = services.create_slot(
                centre_code=data["centre"], kind=data["kind"], capacity=data["capacity"],
                starts_at=timezone.make_aware(datetime.datetime.combine(data["date"], data["time"])),
                categories=data["categories"], actor=request.user)
        except ExamError as error:
            form.add_error(SlotForm.SERVICE_FIELDS.get(error.field), error.message)
        else:
            starts_at = timezone.localtime(slot.starts_at)
            messages.success(request, _("Slot created: %(kind)s at %(time)s, %(seats)d seats.") % {
                "kind": ExamKind(slot.kind).label, "time": starts_at.strftime("%H:%M"), "seats": slot.capacity})
            return redirect(_day_url(slot.centre.code, starts_at.date()))
    return render(request, "staff/exams/slot_form.html", {"form": form}, status=400 if form.errors else 200)


# ---------------------------------------------------------------------------------------------------------------
# The practical exam sheet


def _practical_booking(booking_id) -> Booking:
    booking = selectors.booking(booking_id)
    if booking is None or booking.kind != ExamKind.PRACTICAL:
        raise Http404
    return booking


def _back_to_day(booking: Booking) -> str:
    return _day_url(booking.slot.centre.code, timezone.localdate(booking.slot.starts_at))


@never_cache
@require_http_methods(["GET", "POST"])
@examiner_required
def practical_sheet(request, booking_id):
    booking = _practical_booking(booking_id)
    if booking.status != Booking.State.BOOKED:
        return redirect("exams_staff:sheet-result", booking.pk)
    form = PracticalSheetForm(request.POST if request.method == "POST" else None,
                              faults=PracticalFault.objects.filter(is_active=True))
    if request.method == "POST" and form.is_valid():
        try:
            services.record_practical_sheet(booking_id=booking.pk, faults=form.times(), actor=request.user)
        except ExamError as error:
            form.add_error(None, error.message)
        else:
            return redirect("exams_staff:sheet-result", booking.pk)
    parts = [(label, form.rows(part)) for part, label in PracticalFault.Part.choices]
    return render(request, "staff/exams/sheet.html", {
        "booking": booking, "form": form, "parts": [(label, rows) for label, rows in parts if rows],
        "limit": ExamRules.current().practical_max_penalty_points, "back": _back_to_day(booking),
    }, status=400 if form.errors else 200)


@never_cache
@require_safe
@examiner_required
def practical_sheet_result(request, booking_id):
    booking = _practical_booking(booking_id)
    if booking.status == Booking.State.BOOKED:
        return redirect("exams_staff:sheet", booking.pk)
    marked = (booking.sheet or {}).get("faults", {})
    titles = {fault.code: fault.title_in() for fault in PracticalFault.objects.filter(code__in=list(marked))}
    return render(request, "staff/exams/sheet_result.html", {
        "booking": booking, "passed": booking.status == Booking.State.PASSED,
        "faults": [{"title": titles.get(code, code), **line} for code, line in marked.items()],
        "limit": ExamRules.current().practical_max_penalty_points, "back": _back_to_day(booking),
    })


# ---------------------------------------------------------------------------------------------------------------
# The theory exam terminal


@require_POST
@examiner_required
def open_theory_exam(request, booking_id):
    booking = selectors.booking(booking_id)
    if booking is None or booking.kind != ExamKind.THEORY:
        raise Http404
    try:
        opened = services.open_theory_session(booking_id=booking.pk, actor=request.user,
                                              identity_checked=bool(request.POST.get("identity_checked")))
    except ExamError as error:
        if error.code == ExamErrorCode.NOT_FOUND:
            raise Http404 from error
        return _render_day(request, centre_code=booking.slot.centre.code,
                           day=timezone.localdate(booking.slot.starts_at), open_errors={booking.pk: error.message})
    centre_code = request.session.get(CENTRE_KEY)
    logout(request)  # the browser is the applicant's now: no staff page may stay open on it
    if centre_code:
        request.session[CENTRE_KEY] = centre_code
    url = reverse("exams_staff:terminal", args=[opened.session.pk])
    response = redirect(url)
    lifetime = opened.session.deadline - timezone.now() + TERMINAL_COOKIE_SPARE
    response.set_cookie(TERMINAL_COOKIE, opened.token, max_age=int(lifetime.total_seconds()), path=url,
                        secure=request.is_secure(), httponly=True, samesite="Strict")
    return response


def _terminal_session(request, session_id) -> TheorySession:
    session = services.session_for_terminal(session_id, request.COOKIES.get(TERMINAL_COOKIE, ""))
    if session is None:
        raise Http404
    return session


def _render_terminal(request, template: str, session: TheorySession, context: dict, *, status: int = 200):
    """Terminal pages speak the exam's language, whatever the browser asks for."""
    seconds_left = max(int((session.deadline - timezone.now()).total_seconds()), 0)
    with translation.override(session.language):
        return render(request, template, {
            "session": session, "seconds_left": seconds_left,
            "time_left": f"{seconds_left // 60}:{seconds_left % 60:02d}",
            "terminal_url": reverse("exams_staff:terminal", args=[session.pk]), **context,
        }, status=status)


def _question_url(session: TheorySession, index: int) -> str:
    return f"{reverse('exams_staff:terminal', args=[session.pk])}?q={index + 1}"


def _resume_index(session: TheorySession) -> int:
    """The first question without an answer (the last one when all have one)."""
    unanswered = [i for i, question_id in enumerate(session.question_ids) if str(question_id) not in session.answers]
    return unanswered[0] if unanswered else len(session.question_ids) - 1


def _index(value, session: TheorySession) -> int:
    try:
        index = int(value) - 1
    except (TypeError, ValueError):
        return _resume_index(session)
    return index if 0 <= index < len(session.question_ids) else _resume_index(session)


def _after_answer(session: TheorySession, index: int, go: str):
    """Where a question's buttons lead once its answer is kept: a numbered question, the previous, the next, or
    the confirmation to finish (also after the last question)."""
    if go.isdigit():
        return redirect(_question_url(session, _index(go, session)))
    if go == "previous":
        return redirect(_question_url(session, max(index - 1, 0)))
    if go == "finish" or index + 1 >= len(session.question_ids):
        return redirect("exams_staff:terminal-finish", session.pk)
    return redirect(_question_url(session, index + 1))


@never_cache
@require_http_methods(["GET", "POST"])
def terminal_question(request, session_id):
    session = _terminal_session(request, session_id)
    error = None
    if request.method == "POST":
        index = _index(request.POST.get("q"), session)
        option = request.POST.get("option", "")
        if option:
            try:
                session = services.answer_question(session_id=session.pk, index=index,
                                                   option_id=int(option) if option.isdigit() else 0)
            except ExamError as refusal:
                if refusal.code == ExamErrorCode.WRONG_STATUS:  # time is up (the service ends it), or finished
                    return redirect("exams_staff:terminal-result", session.pk)
                error = refusal.message
        elif not session.is_open():
            return redirect("exams_staff:terminal-result", session.pk)
        if error is None:
            return _after_answer(session, index, request.POST.get("go", "next"))
    elif not session.is_open():
        return redirect("exams_staff:terminal-result", session.pk)
    else:
        index = _index(request.GET.get("q"), session)
    shown = services.question_at(session, index)
    language = session.language
    return _render_terminal(request, "exams/terminal/question.html", session, {
        "error": error, "number": index + 1, "total": len(session.question_ids),
        "question_text": shown.question.text_in(language),
        "image": shown.question.image.url if shown.question.image else "",
        "options": [{"id": option.pk, "text": option.text_in(language)} for option in shown.options],
        "chosen": shown.chosen,
        "question_map": [{"number": i + 1, "answered": str(question_id) in session.answers, "current": i == index}
                         for i, question_id in enumerate(session.question_ids)],
    }, status=400 if error else 200)


@never_cache
@require_http_methods(["GET", "POST"])
def terminal_finish(request, session_id):
    session = _terminal_session(request, session_id)
    if request.method == "POST" or not session.is_open():
        services.finish_theory_session(session_id=session.pk)
        return redirect("exams_staff:terminal-result", session.pk)
    unanswered = [i + 1 for i, question_id in enumerate(session.question_ids)
                  if str(question_id) not in session.answers]
    return _render_terminal(request, "exams/terminal/finish.html", session, {
        "total": len(session.question_ids), "answered": len(session.question_ids) - len(unanswered),
        "unanswered": unanswered,
    })


@never_cache
@require_safe
def terminal_result(request, session_id):
    session = _terminal_session(request, session_id)
    if session.finished_at is None:
        if session.is_open():
            return redirect(_question_url(session, _resume_index(session)))
        session = services.finish_theory_session(session_id=session.pk)
    rules = ExamRules.current()
    passed = rules.theory_passed(session.correct or 0)
    retake = None if passed else services.retake_from(session.booking.application, ExamKind.THEORY, rules)
    return _render_terminal(request, "exams/terminal/result.html", session, {
        "correct": session.correct or 0, "total": len(session.question_ids), "pass_mark": rules.theory_pass_mark,
        "passed": passed, "time_up": session.finished_at >= session.deadline, "retake_from": retake,
    })
