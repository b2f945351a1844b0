"""The sandbox's fixture file: loaded, validated and cached, so every registry answers from the same citizens.

Format: ../shared/registry-sandbox.md. The file named by `settings.REGISTRY_SANDBOX_FIXTURES` is parsed once per
modification time, so an edited file is picked up without a restart. A file that breaks the format raises
`FixtureError` naming the offending field (`citizens[3].medical_073.valid_until: ...`), because a sandbox that
silently guesses would make a test pass for the wrong reason. Keys starting with `_` (notes) are ignored.

The IIN is checked for shape only (12 digits): its check-digit rule lives in the workflow (`applications.iin`),
which the registries must not import.
"""

import copy
import datetime
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

QUERY_REGISTRIES = ("person", "licence_registry", "erap", "medical", "erdb", "driving_school", "exam_attempts")
FAULT_REGISTRIES = (*QUERY_REGISTRIES, "consent", "sms", "payment")
FAULT_KINDS = ("error", "timeout", "garbage", "flaky")
CONSENT_DECISIONS = ("grant", "deny")
LICENCE_STATUSES = ("valid", "expired", "revoked")
EXAM_BAN_ARTICLES = ("608-6", "608-7", "613-9", "613-10")

IIN_SHAPE = re.compile(r"\d{12}")
PHONE_SHAPE = re.compile(r"\+7\d{10}")
DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")

REQUIRED = object()


class FixtureError(ImproperlyConfigured):
    """The fixture file breaks the published format; the message names the field."""


@dataclass(frozen=True)
class Fixture:
    """The parsed file: citizens by IIN and by phone. Treat the citizen dicts as read-only."""

    citizens_by_iin: dict[str, dict]
    citizens_by_phone: dict[str, dict]


_loaded: dict[str, tuple[int, Fixture]] = {}


def fixture_path() -> Path:
    return Path(settings.REGISTRY_SANDBOX_FIXTURES)


def load_fixture() -> Fixture:
    """The current fixture, re-read only when the file's modification time changed."""
    path = fixture_path()
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError as error:
        raise FixtureError(f"{path}: cannot read the sandbox fixture file ({error.strerror})") from error
    cached = _loaded.get(str(path))
    if cached and cached[0] == mtime:
        return cached[1]
    fixture = parse_fixture(path.read_text(encoding="utf-8"), source=str(path))
    _loaded[str(path)] = (mtime, fixture)
    return fixture


def find_citizen(iin: str) -> dict | None:
    """The fixture's citizen with this IIN, or None: a person not in the file is unknown to every registry."""
    return load_fixture().citizens_by_iin.get(iin)


def find_citizen_by_phone(phone: str) -> dict | None:
    """The citizen whose phone this is, so that per-person `sms` faults apply to messages sent by number."""
    return load_fixture().citizens_by_phone.get(phone)


def parse_fixture(text: str, *, source: str = "fixture") -> Fixture:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise FixtureError(f"{source}: not valid JSON ({error})") from error
    root = _record({"citizens": (_list_of(_citizen), REQUIRED)})(document, source)
    by_iin: dict[str, dict] = {}
    by_phone: dict[str, dict] = {}
    for index, citizen in enumerate(root["citizens"]):
        if citizen["iin"] in by_iin:
            raise FixtureError(f"{source}.citizens[{index}].iin: {citizen['iin']} appears twice")
        by_iin[citizen["iin"]] = citizen
        by_phone.setdefault(citizen["phone"], citizen)
    return Fixture(citizens_by_iin=by_iin, citizens_by_phone=by_phone)


# Validators: each takes (value, field path) and returns the normalized value or raises FixtureError.
Validator = Callable[[Any, str], Any]


def _fail(where: str, message: str) -> NoReturn:
    raise FixtureError(f"{where}: {message}")


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        _fail(where, f"expected a non-empty string, got {value!r}")
    return value


def _text_or_empty(value: Any, where: str) -> str:
    if not isinstance(value, str):
        _fail(where, f"expected a string, got {value!r}")
    return value


def _date(value: Any, where: str) -> str:
    """Dates stay strings (they are answered as JSON), but must be real YYYY-MM-DD dates."""
    if not isinstance(value, str) or not DATE_SHAPE.fullmatch(value):
        _fail(where, f"expected a date YYYY-MM-DD, got {value!r}")
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        _fail(where, f"{value!r} is not a real date")
    return value


def _count(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        _fail(where, f"expected a whole number of 0 or more, got {value!r}")
    return value


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        _fail(where, f"expected true or false, got {value!r}")
    return value


def _shaped(pattern: re.Pattern, description: str) -> Validator:
    def validate(value: Any, where: str) -> str:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            _fail(where, f"expected {description}, got {value!r}")
        return value

    return validate


def _choice(*allowed: str) -> Validator:
    def validate(value: Any, where: str) -> str:
        if value not in allowed:
            _fail(where, f"expected one of {', '.join(allowed)}, got {value!r}")
        return value

    return validate


def _optional(validator: Validator) -> Validator:
    def validate(value: Any, where: str) -> Any:
        return None if value is None else validator(value, where)

    return validate


def _list_of(validator: Validator) -> Validator:
    def validate(value: Any, where: str) -> list:
        if not isinstance(value, list):
            _fail(where, f"expected a list, got {value!r}")
        return [validator(item, f"{where}[{index}]") for index, item in enumerate(value)]

    return validate


def _record(fields: dict[str, tuple[Validator, Any]]) -> Validator:
    """An object with known fields: required ones must be present, others take their default, `_notes` are ignored."""

    def validate(value: Any, where: str) -> dict:
        if not isinstance(value, dict):
            _fail(where, f"expected an object, got {value!r}")
        unknown = [key for key in value if key not in fields and not str(key).startswith("_")]
        if unknown:
            _fail(f"{where}.{unknown[0]}", "unknown field (notes must start with '_')")
        result = {}
        for name, (validator, default) in fields.items():
            if name in value:
                result[name] = validator(value[name], f"{where}.{name}")
            elif default is REQUIRED:
                _fail(f"{where}.{name}", "required field is missing")
            else:
                result[name] = copy.deepcopy(default)
        return result

    return validate


def _faults(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        _fail(where, f"expected an object of registry name to fault kind, got {value!r}")
    for registry, kind in value.items():
        _choice(*FAULT_REGISTRIES)(registry, f"{where} (registry name)")
        _choice(*FAULT_KINDS)(kind, f"{where}.{registry}")
    return dict(value)


_categories = _list_of(_text)

_licence = _record(
    {
        "number": (_text, REQUIRED),
        "categories": (_categories, REQUIRED),
        "issued_on": (_date, REQUIRED),
        "expires_on": (_date, REQUIRED),
        "status": (_choice(*LICENCE_STATUSES), REQUIRED),
    }
)
_exam_ban = _record({"article": (_choice(*EXAM_BAN_ARTICLES), REQUIRED), "until": (_date, REQUIRED)})
_deprivation = _record({"until": (_date, REQUIRED)})
_medical_073 = _record({"valid_until": (_date, REQUIRED), "categories": (_categories, REQUIRED)})
_erdb = _record({"narcological": (_flag, REQUIRED), "psychiatric": (_flag, REQUIRED)})
_driving_school_certificate = _record(
    {"certificate": (_text, REQUIRED), "category": (_text, REQUIRED), "school": (_text, REQUIRED)}
)
_exam_attempts = _record(
    {"theory": (_count, 0), "practical": (_count, 0), "last_failed_on": (_optional(_date), None)}
)

# Identity and consent are required; the registry records default to "nothing on file".
_citizen = _record(
    {
        "iin": (_shaped(IIN_SHAPE, "an IIN of 12 digits"), REQUIRED),
        "surname": (_text, REQUIRED),
        "given_names": (_text, REQUIRED),
        "patronymic": (_optional(_text), None),
        "birth_date": (_date, REQUIRED),
        "birth_place": (_text_or_empty, ""),
        "address": (_text_or_empty, ""),
        "phone": (_shaped(PHONE_SHAPE, "a phone +7 and 10 digits"), REQUIRED),
        "photo": (_optional(_text), None),
        "consent": (_choice(*CONSENT_DECISIONS), REQUIRED),
        "licence": (_optional(_licence), None),
        "exam_ban": (_optional(_exam_ban), None),
        "deprivation": (_optional(_deprivation), None),
        "medical_073": (_optional(_medical_073), None),
        "erdb": (_erdb, {"narcological": False, "psychiatric": False}),
        "driving_school": (_list_of(_driving_school_certificate), []),
        "exam_attempts": (_exam_attempts, {"theory": 0, "practical": 0, "last_failed_on": None}),
        "faults": (_faults, {}),
    }
)
