"""A bank's intake flow, written only against the client that openapi-python-client generates from docs/openapi.yaml.

It uses nothing but the generated package (imported as `kualik_client`) and is type-checked with `mypy --strict`
together with it: wherever the schema is short, this script needs a cast or an untyped dict, and mypy says so.

    python bank_flow.py --base-url URL --api-key KEY --iin IIN --phone +7... --pickup-tson CODE

prints the application's number as its last line, or exits non-zero naming the step that failed.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from kualik_client import AuthenticatedClient
from kualik_client.api.applications import (
    applications_consent_create,
    applications_create,
    applications_list,
    applications_retrieve,
    applications_submit_create,
)
from kualik_client.api.sandbox import sandbox_sms_list
from kualik_client.models import (
    Application,
    ApplicationStatusEnum,
    ConsentCode,
    ExamLanguageEnum,
    FirstIssueCreate,
    FirstIssueServiceEnum,
    PaginatedApplicationList,
    PaginatedSandboxSmsList,
    Problem,
    ProblemCodeEnum,
    Submit,
)

T = TypeVar("T")


class FlowFailed(Exception):
    """The server answered the integrator's flow otherwise than the contract says."""


def expect(answer: T | Problem | None, kind: type[T], step: str) -> T:
    """The typed answer of a step, or the step's failure with the problem's code."""
    if isinstance(answer, kind):
        return answer
    if isinstance(answer, Problem):
        raise FlowFailed(f"{step}: {answer.status} {answer.code.value}: {answer.detail}")
    raise FlowFailed(f"{step}: no answer the schema documents")


def poll(read: Callable[[], T | None], *, timeout: float, step: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = read()
        if found is not None:
            return found
        time.sleep(0.1)
    raise FlowFailed(f"{step}: timed out after {timeout} s")


def run(*, base_url: str, api_key: str, iin: str, phone: str, pickup_tson: str, timeout: float = 30) -> str:
    client = AuthenticatedClient(base_url=base_url, token=api_key, prefix="Api-Key", raise_on_unexpected_status=True)

    body = FirstIssueCreate(service=FirstIssueServiceEnum.FIRST_ISSUE, iin=iin, categories=["B"])
    key = str(uuid.uuid4())
    created = expect(applications_create.sync(client=client, body=body, idempotency_key=key), Application, "create")
    if created.status is not ApplicationStatusEnum.CONSENT_PENDING or created.number is not None:
        raise FlowFailed(f"create: {created.status.value}, number {created.number}")
    replayed = applications_create.sync_detailed(client=client, body=body, idempotency_key=key)
    if replayed.headers.get("Idempotent-Replayed") != "true" or expect(
            replayed.parsed, Application, "replay").id != created.id:
        raise FlowFailed("replay: the same key and body did not replay the first answer")

    read = expect(applications_retrieve.sync(created.id, client=client), Application, "read")
    if read.id != created.id or read.iin != iin:
        raise FlowFailed("read: another application")
    listed = expect(applications_list.sync(client=client, iin=iin, status=ApplicationStatusEnum.CONSENT_PENDING),
                    PaginatedApplicationList, "list")
    if [application.id for application in listed.results] != [created.id]:
        raise FlowFailed("list: the filters did not find the application")

    def consent_code() -> str | None:
        outbox = expect(sandbox_sms_list.sync(client=client, phone=phone), PaginatedSandboxSmsList, "sms")
        codes = [found.group(1) for sms in outbox.results if (found := re.search(r"\b(\d{6})\b", sms.text))]
        return codes[0] if codes else None

    code = poll(consent_code, timeout=timeout, step="consent code")
    wrong = applications_consent_create.sync(created.id, client=client, body=ConsentCode(code=_another(code)))
    if not (isinstance(wrong, Problem) and wrong.code is ProblemCodeEnum.INVALID_CONSENT_CODE
            and isinstance(wrong.attempts_left, int) and wrong.attempts_left > 0):
        raise FlowFailed("consent: a wrong code was not answered with invalid_consent_code and attempts_left")
    expect(applications_consent_create.sync(created.id, client=client, body=ConsentCode(code=code)), Application,
           "consent")

    def eligible() -> Application | None:
        application = expect(applications_retrieve.sync(created.id, client=client), Application, "poll")
        if application.status is ApplicationStatusEnum.REFUSED:
            refusal = application.refusal
            raise FlowFailed(f"checks: refused with {refusal.code.value if refusal else '?'}")
        return application if application.status is ApplicationStatusEnum.ELIGIBLE else None

    poll(eligible, timeout=timeout, step="checks")
    form = Submit(phone=phone, language=ExamLanguageEnum.KK, pickup_tson=pickup_tson)
    submitted = expect(applications_submit_create.sync(created.id, client=client, body=form,
                                                       idempotency_key=str(uuid.uuid4())), Application, "submit")
    if submitted.status is not ApplicationStatusEnum.THEORY_EXAM or submitted.number is None:
        raise FlowFailed(f"submit: {submitted.status.value}, number {submitted.number}")
    if submitted.exams is None or submitted.exams.theory.booking is not None:
        raise FlowFailed("submit: a first licence has exams, with no booking yet")

    number = expect(applications_retrieve.sync(created.id, client=client), Application, "read number").number
    if number != submitted.number or submitted.pickup_tson != pickup_tson or submitted.language is None:
        raise FlowFailed("read number: not the number submit gave")
    return number


def _another(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    for name in ("--base-url", "--api-key", "--iin", "--phone", "--pickup-tson"):
        parser.add_argument(name, required=True)
    parser.add_argument("--timeout", type=float, default=30)
    arguments = parser.parse_args(argv)
    try:
        number = run(base_url=arguments.base_url, api_key=arguments.api_key, iin=arguments.iin,
                     phone=arguments.phone, pickup_tson=arguments.pickup_tson, timeout=arguments.timeout)
    except FlowFailed as failure:
        print(f"bank flow failed at {failure}", file=sys.stderr)
        return 1
    print(number)
    return 0


if __name__ == "__main__":
    sys.exit(main())
