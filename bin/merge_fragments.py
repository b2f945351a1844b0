"""Fold translation fragments (locale/fragments/*.<lang>.po) into the kk and ru catalogues.

Work done in parallel adds its strings' translations as small PO files, so that the big catalogues are only
regenerated in one place: `make messages` extracts, then this fills every msgstr a fragment knows.
"""

import sys
from pathlib import Path

import polib

root = Path(__file__).resolve().parent.parent / "locale"
for language in ("kk", "ru"):
    catalogue = polib.pofile(str(root / language / "LC_MESSAGES" / "django.po"))
    by_key = {(entry.msgctxt, entry.msgid): entry for entry in catalogue}
    filled = 0
    for fragment_path in sorted((root / "fragments").glob(f"*.{language}.po")):
        for source in polib.pofile(str(fragment_path)):
            entry = by_key.get((source.msgctxt, source.msgid))
            if entry is None:
                print(f"{fragment_path.name}: not in the catalogue (unused?): {source.msgid[:60]!r}", file=sys.stderr)
                continue
            if source.msgid_plural:
                entry.msgstr_plural = dict(source.msgstr_plural)
            elif source.msgstr:
                entry.msgstr = source.msgstr
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
            filled += 1
    catalogue.save()
    missing = [entry.msgid for entry in catalogue if not entry.translated() and not entry.obsolete]
    print(f"{language}: {filled} strings from fragments; {len(missing)} untranslated", file=sys.stderr)
    for msgid in missing:
        print(f"  untranslated ({language}): {msgid[:80]!r}", file=sys.stderr)
