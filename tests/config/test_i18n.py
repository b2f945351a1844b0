from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_each_catalogue_is_shipped_compiled(language):
    assert (ROOT / "locale" / language / "LC_MESSAGES" / "django.po").is_file()
    assert (ROOT / "locale" / language / "LC_MESSAGES" / "django.mo").is_file()


def test_kazakh_is_the_default_language(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response["Content-Language"] == "kk"
    assert "Жүргізуші куәлігі" in response.content.decode()


@pytest.mark.parametrize(
    ("language", "text"),
    [("ru", "Водительские удостоверения онлайн"), ("en", "Driving licences online")],
)
def test_the_home_page_speaks_the_chosen_language(client, language, text):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE=language)
    assert response["Content-Language"] == language
    assert text in response.content.decode()


@pytest.mark.django_db
def test_the_language_switch_remembers_the_choice(client):
    response = client.post("/i18n/setlang/", {"language": "ru", "next": "/"})
    assert response.status_code == 302
    assert "Водительские удостоверения онлайн" in client.get("/").content.decode()


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_no_message_is_left_untranslated_or_fuzzy(language):
    catalogue = polib.pofile(str(ROOT / "locale" / language / "LC_MESSAGES" / "django.po"))
    assert catalogue.untranslated_entries() == []
    assert catalogue.fuzzy_entries() == []
    assert len(catalogue.translated_entries()) > 50


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_the_compiled_catalogue_is_up_to_date_with_its_source(language):
    folder = ROOT / "locale" / language / "LC_MESSAGES"
    # Keyed by context too: "Passed" (a check) and "Passed" in the context "exam result" are two messages.
    compiled = {(entry.msgctxt, entry.msgid): entry.msgstr for entry in polib.mofile(str(folder / "django.mo"))}
    for entry in polib.pofile(str(folder / "django.po")).translated_entries():
        if not entry.msgid_plural:
            assert compiled.get((entry.msgctxt, entry.msgid)) == entry.msgstr, entry.msgid
