"""Practice mode (/practice/): any visitor, signed in or not, answers random questions from the theory bank, untimed,
and sees the right answer and why after each. Nothing is stored: the pages carry what they need in their own fields."""

from urllib.parse import urlencode

from django import forms
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from applications.forms import category_choices
from config.languages import current_language

from . import services
from .errors import ExamError, ExamErrorCode
from .models import Question

# Each language named in itself, whatever the page's language (as the language switch does).
QUESTION_LANGUAGES = [("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")]
FALLBACK_LANGUAGE = "ru"  # what Question.text_in shows where a language's text is empty


class PracticeForm(forms.Form):
    language = forms.ChoiceField(
        label=gettext_lazy("Language of the questions"), choices=QUESTION_LANGUAGES, widget=forms.RadioSelect,
        help_text=gettext_lazy("A question that has no English text is shown in Russian."),
        error_messages={"required": gettext_lazy("Choose the language of the questions."),
                        "invalid_choice": gettext_lazy("Choose the language of the questions.")})
    category = forms.ChoiceField(
        label=gettext_lazy("Category (optional)"), required=False,
        help_text=gettext_lazy("Only the questions of this category. Keep “Every category” to practise them all."),
        error_messages={"invalid_choice": gettext_lazy("Choose a category from the list.")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("Every category")), *category_choices()]


def _number(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(instance, field: str, language: str) -> dict:
    """The text in `language`, or in Russian where that is empty, with the language it is really in (for `lang`)."""
    shown = language if getattr(instance, f"{field}_{language}", "") else FALLBACK_LANGUAGE
    return {"text": getattr(instance, f"{field}_{shown}", ""), "lang": shown}


def _query(choice: dict, **more) -> str:
    return urlencode({"language": choice["language"], "category": choice["category"], **more})


def _asked(question: Question, language: str) -> dict:
    """What the question page may show: the question and its options, and nothing that tells which one is right."""
    return {"id": question.pk, "is_demo": question.is_demo, "image": question.image,
            **_text(question, "text", language),
            "options": [{"id": option.pk, **_text(option, "text", language)} for option in question.options.all()]}


def _question_page(request, question: Question | None, choice: dict, *, error: str | None = None):
    return render(request, "practice/question.html", {
        "question": _asked(question, choice["language"]) if question else None, "choice": choice, "error": error,
        "settings_query": _query(choice)})


def start(request):
    """Choose the language of the questions and, if you like, a category (prefilled from the query when coming back)."""
    initial = {"language": request.GET.get("language") or current_language(),
               "category": request.GET.get("category", "")}
    return render(request, "practice/start.html", {"form": PracticeForm(initial=initial)})


@require_GET
@never_cache  # a random draw each time: a cached page would repeat the same question
def question(request):
    form = PracticeForm(request.GET)
    if not form.is_valid():
        return render(request, "practice/start.html", {"form": form})
    choice = form.cleaned_data
    after = _number(request.GET.get("after"))
    drawn = services.practice_question(category=choice["category"] or None, exclude=after)
    if drawn is None and after is not None:  # a bank of one question: showing it again beats showing none
        drawn = services.practice_question(category=choice["category"] or None)
    return _question_page(request, drawn, choice)


@require_POST
def check(request):
    settings_form = PracticeForm(request.POST)
    choice = settings_form.cleaned_data if settings_form.is_valid() else {"language": current_language(),
                                                                            "category": ""}
    question_id, option_id = _number(request.POST.get("question")), _number(request.POST.get("option"))
    if question_id is None:
        raise Http404
    try:
        verdict = services.check_practice_answer(question_id=question_id, option_id=option_id)
    except ExamError as problem:
        if problem.code == ExamErrorCode.NOT_FOUND:
            raise Http404 from problem
        asked = Question.objects.prefetch_related("options").get(pk=question_id)
        error = _("Choose an answer.") if option_id is None else problem.message
        return _question_page(request, asked, choice, error=error)
    language = choice["language"]
    return render(request, "practice/result.html", {
        "correct": verdict.correct, "choice": choice, "is_demo": verdict.question.is_demo,
        "question": _text(verdict.question, "text", language), "image": verdict.question.image,
        "explanation": _text(verdict.question, "explanation", language),
        "options": [{"chosen": option.pk == verdict.chosen, "correct": option.is_correct,
                     **_text(option, "text", language)} for option in verdict.options],
        "next_query": _query(choice, after=verdict.question.pk), "settings_query": _query(choice)})
