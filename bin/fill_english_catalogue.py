"""The source strings are English: copy each msgid into the English catalogue so that it is complete."""

import sys
from pathlib import Path

import polib

path = Path(__file__).resolve().parent.parent / "locale" / "en" / "LC_MESSAGES" / "django.po"
catalogue = polib.pofile(str(path))
catalogue.metadata.update({"Language": "en", "Plural-Forms": "nplurals=2; plural=(n != 1);",
                           "Content-Type": "text/plain; charset=UTF-8"})
for entry in catalogue:
    if entry.msgid_plural:
        entry.msgstr_plural = {0: entry.msgid, 1: entry.msgid_plural}
    else:
        entry.msgstr = entry.msgid
    if "fuzzy" in entry.flags:
        entry.flags.remove("fuzzy")
catalogue.save()
print(f"{path}: {len(catalogue)} entries", file=sys.stderr)
