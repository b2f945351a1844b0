"""Helpers for tests that go through the registry sandbox over real HTTP."""

import copy
import json
import os
import re
import time
from pathlib import Path

import httpx

from tests.factories import make_iin

_phone_counter = iter(range(10_000_000))


def citizen(**overrides) -> dict:
    """A fixture citizen (shared/registry-sandbox.md) for whom every check passes, with `overrides` applied."""
    number = next(_phone_counter)
    base = {
        "iin": make_iin(birth_year=1990),
        "surname": "Тестов", "given_names": "Тест", "patronymic": "Тестұлы",
        "birth_date": "1990-01-01", "birth_place": "Астана", "address": "Астана, Тест көшесі 1",
        "phone": f"+7709{number:07d}",
        "photo": None,
        "consent": "grant",
        "licence": None,
        "exam_ban": None,
        "deprivation": None,
        "medical_073": {"valid_until": "2030-01-01", "categories": ["A", "B", "C", "BE", "CE", "D"]},
        "erdb": {"narcological": False, "psychiatric": False},
        "driving_school": [{"certificate": f"AS-T-{number}-{c}", "category": c, "school": "Test school"}
                           for c in ("A", "B", "C", "BE", "CE", "D")],
        "exam_attempts": {"theory": 0, "practical": 0, "last_failed_on": None},
        "faults": {},
    }
    merged = copy.deepcopy(base)
    merged.update(overrides)
    return merged


class Sandbox:
    """The live sandbox of one test: its fixture file, its base URL, and what it saw."""

    def __init__(self, base_url: str, fixture_path: Path, settings):
        self.base_url = base_url.rstrip("/")
        self.fixture_path = fixture_path
        self.settings = settings
        self.citizens: list[dict] = []
        self._writes = 0

    def add(self, **overrides) -> dict:
        person = citizen(**overrides)
        self.citizens.append(person)
        self._write()
        return person

    def update(self, person: dict, **changes) -> None:
        person.update(changes)
        self._write()

    def _write(self) -> None:
        self.fixture_path.write_text(json.dumps({"citizens": self.citizens}, ensure_ascii=False))
        # The loader caches by modification time: give every write its own, even within one clock tick.
        self._writes += 1
        stamp = time.time_ns() + self._writes * 1_000_000
        os.utime(self.fixture_path, ns=(stamp, stamp))

    def requests_for(self, iin: str) -> list[dict]:
        response = httpx.get(f"{self.base_url}/sandbox/registries/_log", params={"iin": iin}, timeout=10)
        response.raise_for_status()
        return response.json()

    def sms_for(self, phone: str) -> list[dict]:
        response = httpx.get(f"{self.base_url}/api/v1/sandbox/sms", params={"phone": phone}, timeout=10)
        response.raise_for_status()
        return response.json()["results"]

    def consent_code(self, phone: str, *, wait: float = 10) -> str:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            for message in self.sms_for(phone):
                # Six digits on their own: not the tail of an application number (DL-2026-000123) in a notice.
                found = re.search(r"(?<![\d-])(\d{6})(?![\d-])", message["text"])
                if found:
                    return found.group(1)
            time.sleep(0.05)
        raise AssertionError(f"no consent code reached {phone}")


def wait_for(predicate, *, timeout: float = 20, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")
