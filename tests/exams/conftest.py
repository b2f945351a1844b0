"""Fixtures shared by the exams' tests."""

import pytest

from exams.models import AnswerOption, Question


def make_question_bank(count: int = 45, *, categories=()) -> list[Question]:
    """`count` questions of three options each, the first option correct (tests only: real banks vary it)."""
    from applications.models import Category

    questions = []
    for number in range(count):
        question = Question.objects.create(reference=f"test-{number:03d}-{len(categories)}", text_kk=f"Сұрақ {number}",
                                           text_ru=f"Вопрос {number}", text_en=f"Question {number}",
                                           explanation_kk="Себебі", explanation_ru="Потому что",
                                           explanation_en="Because")
        if categories:
            question.categories.set(Category.objects.filter(code__in=categories))
        AnswerOption.objects.bulk_create(
            AnswerOption(question=question, position=position, is_correct=position == 0,
                         text_kk=f"Жауап {position}", text_ru=f"Ответ {position}", text_en=f"Answer {position}")
            for position in range(3))
        questions.append(question)
    return questions


@pytest.fixture
def question_bank(db):
    return make_question_bank()
