import pytest

from exams import services
from exams.errors import ExamError
from exams.models import ExamSlot
from tests.factories import ExamSlotFactory, application_at_exams

pytestmark = pytest.mark.django_db


def test_book_cancel_result_flow():
    application = application_at_exams()
    slot = ExamSlotFactory(capacity=1)
    booking = services.book_exam_slot(application=application, slot_id=slot.pk)
    assert ExamSlot.objects.get(pk=slot.pk).booked == 1
    other = application_at_exams()
    with pytest.raises(ExamError) as error:
        services.book_exam_slot(application=other, slot_id=slot.pk)
    assert error.value.code == "slot_full"
    services.cancel_booking(application=application, booking_id=booking.pk)
    assert ExamSlot.objects.get(pk=slot.pk).booked == 0
    booking = services.book_exam_slot(application=other, slot_id=slot.pk)
    with pytest.raises(ExamError) as error:
        services.record_exam_result(booking_id=booking.pk, passed=True, score=35)
    assert error.value.code == "wrong_status"
