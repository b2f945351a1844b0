"""Every use case of the exams: one function each, one module per concern. Pages, the API, admin actions and tasks
call these; they move applications only through the applications' workflow kernel."""

from .booking import (
    book_exam_slot,
    cancel_booking,
    failed_attempts,
    free_bookings_of,
    reschedule_booking,
    retake_from,
    stage_kind,
)
from .results import (
    mark_no_shows,
    practical_sheet,
    record_exam_result,
    record_practical_sheet,
    report_exam_result,
    send_exam_reminders,
    unreported_results,
)
from .slots import create_slot, generate_slots
from .terminal import (
    answer_question,
    check_practice_answer,
    finish_expired_sessions,
    finish_theory_session,
    open_theory_session,
    practice_question,
    question_at,
    session_for_terminal,
)

__all__ = [
    "answer_question", "book_exam_slot", "cancel_booking", "check_practice_answer", "create_slot", "failed_attempts",
    "finish_expired_sessions", "finish_theory_session", "free_bookings_of", "generate_slots", "mark_no_shows",
    "open_theory_session", "practical_sheet", "practice_question", "question_at", "record_exam_result",
    "record_practical_sheet", "report_exam_result", "reschedule_booking", "retake_from", "send_exam_reminders",
    "session_for_terminal", "stage_kind", "unreported_results",
]
