"""Practice mode on the portal: any visitor, untimed, the answer and its explanation only after the POST; nothing is
stored."""

import re

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from applications.models import Category
from exams.models import AnswerOption, Question
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TEXTS = {"kk": ("Бағдаршам сұрағы", "Себебі ереже солай", "Тоқта", "Жүр"),
         "ru": ("Вопрос о светофоре", "Потому что так в правилах", "Стоять", "Ехать"),
         "en": ("A traffic light question", "Because the rules say so", "Stop", "Go")}


def make_question(reference="light", *, correct=1, english=True, categories=(), is_demo=True, is_active=True):
    """Three options, the correct one at `correct` (not first, so that order proves nothing)."""
    question = Question.objects.create(
        reference=reference, is_demo=is_demo, is_active=is_active,
        **{f"text_{language}": f"{TEXTS[language][0]} {reference}" for language in ("kk", "ru")},
        **{f"explanation_{language}": TEXTS[language][1] for language in ("kk", "ru")},
        **({"text_en": f"{TEXTS['en'][0]} {reference}", "explanation_en": TEXTS["en"][1]} if english else {}))
    question.categories.set(Category.objects.filter(code__in=categories))
    for position in range(3):
        AnswerOption.objects.create(
            question=question, position=position, is_correct=position == correct,
            **{f"text_{language}": f"{TEXTS[language][2 + (position == correct)]} {position}"
               for language in ("kk", "ru", "en") if english or language != "en"})
    return question


@pytest.fixture
def client_en(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def choice_blocks(html: str) -> list[str]:
    return re.findall(r'<div class="choice">.*?</div>', html, flags=re.S)


def assert_answer_hidden(html: str, question: Question, language: str):
    """Every option is marked up alike: with its own id, value and text taken out, the blocks are identical."""
    options = list(question.options.all())
    blocks = choice_blocks(html)
    assert len(blocks) == len(options)
    normalised = set()
    for number, (block, option) in enumerate(zip(blocks, options, strict=True), start=1):
        assert f'value="{option.pk}"' in block and option.text_in(language) in block
        normalised.add(block.replace(f'value="{option.pk}"', 'value="?"').replace(f"option-{number}", "option-?")
                       .replace(option.text_in(language), "TEXT"))
    assert len(normalised) == 1, normalised
    assert question.explanation_in(language) not in html
    main = html[html.index('<main'):html.index('</main>')].lower()
    assert "correct" not in main and "right answer" not in main


def test_the_start_page_offers_the_languages_and_the_categories(client_en):
    page = client_en.get("/practice/").content.decode()
    for value, name in (("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")):
        assert f'value="{value}"' in page and name in page
    assert '<select name="category"' in page and '<option value="B">' in page
    assert 'action="/practice/question/"' in page and 'method="get"' in page


def test_the_home_page_links_to_practice(client):
    assert 'href="/practice/"' in client.get("/").content.decode()


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_an_anonymous_visitor_gets_a_question_without_its_answer(client_en, language):
    question = make_question()
    response = client_en.get("/practice/question/", {"language": language})
    html = response.content.decode()
    assert response.status_code == 200
    assert f"{TEXTS[language][0]} light" in html
    assert f'<legend lang="{language}">' in html
    assert 'action="/practice/check/"' in html and 'method="post"' in html
    assert_answer_hidden(html, question, language)
    assert "not an official exam question" in html  # the demo bank says it is one
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_the_right_answer_is_confirmed_with_the_explanation(client_en, language):
    question = make_question()
    right = question.options.get(is_correct=True)
    html = client_en.post("/practice/check/", {"question": question.pk, "option": right.pk,
                                               "language": language}).content.decode()
    assert "Your answer is right" in html
    assert TEXTS[language][1] in html
    assert "The right answer" in html and "Your answer" in html
    assert "/practice/question/?language=" in html and f"after={question.pk}" in html


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_a_wrong_answer_shows_the_right_one_and_why(client_en, language):
    question = make_question()
    wrong = question.options.get(position=0)
    html = client_en.post("/practice/check/", {"question": question.pk, "option": wrong.pk,
                                               "language": language, "category": "B"}).content.decode()
    assert "Your answer is wrong" in html
    right_text = question.options.get(is_correct=True).text_in(language)
    marked = re.search(r'<li class="card outcome-passed">(.*?)</li>', html, flags=re.S).group(1)
    assert right_text in marked and "The right answer" in marked
    chosen = re.search(r'<li class="card outcome-failed">(.*?)</li>', html, flags=re.S).group(1)
    assert wrong.text_in(language) in chosen and "Your answer" in chosen
    assert TEXTS[language][1] in html
    assert "category=B" in html


def test_english_falls_back_to_russian_where_a_question_has_none(client_en):
    question = make_question(english=False)
    html = client_en.get("/practice/question/", {"language": "en"}).content.decode()
    assert f'<legend lang="ru">{TEXTS["ru"][0]} light</legend>' in html
    assert "shown in Russian" in html
    assert_answer_hidden(html, question, "ru")


def test_practice_stores_nothing(client_en):
    question = make_question()
    models = apps.get_models()
    before = {model._meta.label: model._base_manager.count() for model in models}
    with CaptureQueriesContext(connection) as queries:
        client_en.get("/practice/")
        client_en.get("/practice/question/", {"language": "kk"})
        client_en.post("/practice/check/", {"question": question.pk, "language": "kk",
                                            "option": question.options.first().pk})
        client_en.post("/practice/check/", {"question": question.pk, "language": "kk"})
    assert {model._meta.label: model._base_manager.count() for model in models} == before
    writes = [query["sql"] for query in queries if not query["sql"].lstrip().upper().startswith("SELECT")]
    assert writes == []
    assert settings.SESSION_COOKIE_NAME not in client_en.cookies  # no session started either


def test_a_signed_in_citizen_practises_too(client_en):
    make_question()
    client_en.force_login(UserFactory(role=Role.CITIZEN))
    assert client_en.get("/practice/question/", {"language": "ru"}).status_code == 200


def test_no_answer_chosen_shows_the_question_again_with_an_error(client_en):
    question = make_question()
    response = client_en.post("/practice/check/", {"question": question.pk, "language": "ru"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in html and "Choose an answer." in html
    assert_answer_hidden(html.replace("There is a problem", ""), question, "ru")


def test_an_option_of_another_question_is_refused(client_en):
    question, other = make_question("one"), make_question("two")
    html = client_en.post("/practice/check/", {"question": question.pk, "language": "ru",
                                               "option": other.options.first().pk}).content.decode()
    assert "Choose one of the answers shown." in html
    assert_answer_hidden(html, question, "ru")


@pytest.mark.parametrize("question_id", ["999999", "abc", ""])
def test_an_unknown_question_is_404(client_en, question_id):
    make_question()
    assert client_en.post("/practice/check/", {"question": question_id, "option": "1"}).status_code == 404


def test_a_question_taken_out_of_use_is_404(client_en):
    question = make_question(is_active=False)
    response = client_en.post("/practice/check/", {"question": question.pk, "option": question.options.first().pk})
    assert response.status_code == 404
    page = client_en.get("/practice/question/", {"language": "ru"}).content.decode()
    assert "There are no practice questions" in page


def test_checking_is_a_post(client_en):
    question = make_question()
    response = client_en.get("/practice/check/", {"question": question.pk, "option": question.options.first().pk})
    assert response.status_code == 405


def test_bad_choices_return_to_the_start_page_with_errors(client_en):
    html = client_en.get("/practice/question/", {"language": "de", "category": "ZZ"}).content.decode()
    assert "There is a problem" in html
    assert "Choose the language of the questions." in html and "Choose a category from the list." in html


def test_the_next_question_is_not_the_same_one(client_en):
    first, second = make_question("one"), make_question("two")
    for _ in range(8):
        html = client_en.get("/practice/question/", {"language": "ru", "after": first.pk}).content.decode()
        assert f'name="question" value="{second.pk}"' in html
    make_question("three", is_active=False)
    Question.objects.filter(pk=second.pk).update(is_active=False)
    # a bank of one question: the same one again rather than none
    html = client_en.get("/practice/question/", {"language": "ru", "after": first.pk}).content.decode()
    assert f'name="question" value="{first.pk}"' in html


def test_a_category_draws_only_its_questions_and_those_of_every_category(client_en):
    make_question("for-c", categories=["C"])
    wanted = {make_question("for-b", categories=["B"]).pk, make_question("for-all").pk}
    for _ in range(10):
        html = client_en.get("/practice/question/", {"language": "ru", "category": "B"}).content.decode()
        assert int(re.search(r'name="question" value="(\d+)"', html).group(1)) in wanted


def test_a_question_not_of_the_demo_bank_is_not_called_a_demo(client_en):
    make_question(is_demo=False)
    assert "not an official" not in client_en.get("/practice/question/", {"language": "ru"}).content.decode()
