"""The sandbox's HTTP side: every registry of PROTOCOL.md, played from the fixture file.

Plain Django views, not DRF: they speak the registries' protocol, not the project's API, and they must be cheap
(a person query touches the database only to look up the consent request). Every registry call goes the same
way: parse, log, the sandbox-wide latency and error rate, the person's own fault, then the answer. A fault is a
property of the registry, so it strikes before the registry looks at the consent.
"""

import datetime
import functools
import hashlib
import hmac
import json
import logging
import random
import re
import threading
import time
import uuid
from collections.abc import Callable

import httpx
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from config.languages import SERVICE_LANGUAGES

from .fixtures import QUERY_REGISTRIES, find_citizen, find_citizen_by_phone
from .models import ConsentStatus, SandboxConsentRequest, SandboxExamResult, SandboxLicence, SandboxSms, local_iso

logger = logging.getLogger(__name__)

IIN_SHAPE = re.compile(r"\d{12}")
FLAKY_FAILURES = 2
STATE_TTL_SECONDS = 24 * 60 * 60
LOG_CAP = 500
GARBAGE_BODY = "<html><body><h1>502 Bad Gateway</h1><p>upstream sent an invalid response</p></body></html>"
MEDICAL_FORM = "073/у"


class BadRequest(Exception):
    """The call breaks the protocol's shape: answered 400 with a human-readable detail."""


# ---------------------------------------------------------------------------------------------------------------
# The common path of every registry call


def sandbox_endpoint(view: Callable) -> Callable:
    """CSRF-exempt (callers are services, not browsers), the modelled gateway latency, and 400 on a bad body."""

    @csrf_exempt
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if settings.REGISTRY_SANDBOX_LATENCY_MS:
            time.sleep(settings.REGISTRY_SANDBOX_LATENCY_MS / 1000)
        try:
            return view(request, *args, **kwargs)
        except BadRequest as error:
            return JsonResponse({"error": "bad_request", "detail": str(error)}, status=400)

    return wrapped


def serve(
    *, registry: str, endpoint: str, iin: str | None, consent_request: str | None, answer: Callable[[], HttpResponse]
) -> HttpResponse:
    """Log the call, then let the sandbox-wide error rate and the person's fault for this registry have their say."""
    if iin:
        record_call(iin, registry=registry, endpoint=endpoint, consent_request=consent_request)
    if random.random() < settings.REGISTRY_SANDBOX_ERROR_RATE:
        return unavailable()
    citizen = find_citizen(iin) if iin else None
    fault = citizen["faults"].get(registry) if citizen else None
    if fault == "error":
        return JsonResponse({"error": "internal_error"}, status=500)
    if fault == "garbage":
        return HttpResponse(GARBAGE_BODY, content_type="text/html; charset=utf-8")
    if fault == "flaky" and flaky_call_fails(registry, iin):
        return unavailable()
    if fault == "timeout":
        time.sleep(settings.REGISTRY_SANDBOX_TIMEOUT_SECONDS)
    return answer()


def unavailable() -> JsonResponse:
    return JsonResponse({"error": "unavailable"}, status=503)


def flaky_call_fails(registry: str, iin: str) -> bool:
    """The first two calls for this person and registry fail; the counter is shared by every worker via the cache."""
    key = f"sandbox:flaky:{registry}:{iin}"
    cache.add(key, 0, timeout=STATE_TTL_SECONDS)
    return cache.incr(key) <= FLAKY_FAILURES


_log_lock = threading.Lock()


def _redis_client():
    """The raw Redis client behind django-redis, or None for another cache backend."""
    client = getattr(cache, "client", None)
    return client.get_client(write=True) if client is not None and hasattr(client, "get_client") else None


def record_call(iin: str, *, registry: str, endpoint: str, consent_request: str | None) -> None:
    """Append to the person's call log, so a test can prove that nothing was asked before consent.

    Phases ask several registries at once for one person, so the append must be atomic: a Redis list where the
    cache is Redis (shared by every process), else a lock around the in-memory cache of this one process.
    """
    key = f"sandbox:log:{iin}"
    entry = {"at": local_iso(timezone.now()), "registry": registry, "endpoint": endpoint,
             "consent_request": consent_request}
    redis = _redis_client()
    if redis is not None:
        full_key = cache.make_key(key)
        redis.pipeline().rpush(full_key, json.dumps(entry)).ltrim(full_key, -LOG_CAP, -1).expire(
            full_key, STATE_TTL_SECONDS).execute()
        return
    with _log_lock:
        entries = cache.get(key, [])
        entries.append(entry)
        cache.set(key, entries[-LOG_CAP:], timeout=STATE_TTL_SECONDS)


def calls_for(iin: str) -> list[dict]:
    key = f"sandbox:log:{iin}"
    redis = _redis_client()
    if redis is not None:
        return [json.loads(item) for item in redis.lrange(cache.make_key(key), 0, -1)]
    return cache.get(key, [])


# ---------------------------------------------------------------------------------------------------------------
# Reading the body


def read_body(request: HttpRequest) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadRequest(_("The body is not valid JSON.")) from error
    if not isinstance(body, dict):
        raise BadRequest(_("The body must be a JSON object."))
    return body


def required_text(body: dict, field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise BadRequest(_("The field “%(field)s” is required and must be a string.") % {"field": field})
    return value


def optional_text(body: dict, field: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise BadRequest(_("The field “%(field)s” must be a string or null.") % {"field": field})
    return value or None


def iin_of(body: dict) -> str:
    iin = required_text(body, "iin")
    if not IIN_SHAPE.fullmatch(iin):
        raise BadRequest(_("The field “iin” must be 12 digits."))
    return iin


def registries_of(body: dict) -> list[str]:
    registries = body.get("registries")
    if not isinstance(registries, list) or not registries:
        raise BadRequest(_("The field “registries” is required and must be a non-empty list."))
    unknown = [name for name in registries if name not in QUERY_REGISTRIES]
    if unknown:
        raise BadRequest(_("Unknown registry in “registries”: %(name)s.") % {"name": unknown[0]})
    return registries


def language_of(body: dict) -> str:
    language = required_text(body, "language")
    if language not in SERVICE_LANGUAGES:
        raise BadRequest(_("The field “language” must be one of kk, ru, en."))
    return language


# ---------------------------------------------------------------------------------------------------------------
# consent: the state service for control of access to personal data


def consent_code_text(code: str, language: str) -> str:
    """The SMS with the code, in the request's language; the code is its only 6-digit number."""
    with translation.override(language):
        return _("Kuälik: your consent code is %(code)s. It is valid for %(minutes)s minutes. Do not share it.") % {
            "code": code,
            "minutes": 5,
        }


@sandbox_endpoint
@require_POST
def consent_requests(request: HttpRequest) -> HttpResponse:
    body = read_body(request)
    iin = iin_of(body)
    fields = {
        "iin": iin,
        "application": required_text(body, "application"),
        "channel": required_text(body, "channel"),
        "purpose": required_text(body, "purpose"),
        "registries": registries_of(body),
        "language": language_of(body),
        "callback_url": optional_text(body, "callback_url") or "",
    }
    return serve(
        registry="consent", endpoint="requests", iin=iin, consent_request=None, answer=lambda: open_consent(fields)
    )


def open_consent(fields: dict) -> JsonResponse:
    """A code by SMS for a citizen who grants; a decision by callback, soon, for one who declines."""
    citizen = find_citizen(fields["iin"])
    if citizen is None:
        return JsonResponse({"status": "person_not_found"})
    # The same application asking again (its client timed out on the first answer) gets the request already open,
    # and no second code: the citizen is asked once.
    open_request = (SandboxConsentRequest.objects.filter(
        iin=fields["iin"], application=fields["application"],
        status__in=[ConsentStatus.CODE_SENT, ConsentStatus.DECISION_PENDING]).order_by("-created_at").first()
        if fields["application"] else None)
    if open_request is not None:
        answer = {"status": open_request.status, "request_id": str(open_request.id)}
        if open_request.status == ConsentStatus.CODE_SENT:
            answer["expires_at"] = local_iso(open_request.code_expires_at)
        return JsonResponse(answer)
    consent = SandboxConsentRequest(**fields)
    if citizen["consent"] == "deny":
        consent.await_decision()
        consent.save()
        transaction.on_commit(lambda: schedule_decline(consent.id))
        return JsonResponse({"status": ConsentStatus.DECISION_PENDING.value, "request_id": str(consent.id)})
    with transaction.atomic():
        send_code(consent, phone=citizen["phone"])
    return JsonResponse(
        {"status": "code_sent", "request_id": str(consent.id), "expires_at": local_iso(consent.code_expires_at)}
    )


def send_code(consent: SandboxConsentRequest, *, phone: str) -> None:
    """Issue a new code, keep only its hash, and put the code into the citizen's SMS outbox."""
    code = consent.issue_code(now=timezone.now())
    consent.save()
    SandboxSms.objects.create(phone=phone, text=consent_code_text(code, consent.language))


def schedule_decline(request_id: uuid.UUID) -> None:
    timer = threading.Timer(settings.REGISTRY_SANDBOX_DECLINE_DELAY_MS / 1000, decline, args=(request_id,))
    timer.daemon = True
    timer.start()


def decline(request_id: uuid.UUID) -> None:
    """The citizen declined in the consent service: record it and tell the caller by a signed callback."""
    try:
        now = timezone.now()
        pending = SandboxConsentRequest.objects.filter(pk=request_id, status=ConsentStatus.DECISION_PENDING)
        if not pending.update(status=ConsentStatus.DECLINED, decided_at=now):
            return  # withdrawn meanwhile: nothing to report
        callback_url = SandboxConsentRequest.objects.values_list("callback_url", flat=True).get(pk=request_id)
        if callback_url:
            post_callback(callback_url, {"request_id": str(request_id), "status": "declined", "at": local_iso(now)})
    except Exception:  # a background thread has no one to raise to
        logger.exception("sandbox consent: the decline of %s failed", request_id)
    finally:
        connection.close()


def post_callback(url: str, payload: dict) -> None:
    """POST the decision, signed over the exact bytes sent; a caller that is down only loses this one callback."""
    body = json.dumps(payload).encode()
    signature = hmac.new(settings.REGISTRY_CALLBACK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Signature": f"sha256={signature}"}
    try:
        httpx.post(url, content=body, headers=headers, timeout=5)
    except httpx.HTTPError:
        logger.warning("sandbox consent: the callback to %s failed", url, exc_info=True)


def consent_action(
    action: Callable[[SandboxConsentRequest, dict], dict], endpoint: str, parse: Callable[[dict], dict] = dict
) -> Callable:
    """Confirm, resend and withdraw share one path: find the request (404), its citizen's faults, then the action."""

    @sandbox_endpoint
    @require_POST
    def view(request: HttpRequest, request_id: uuid.UUID) -> HttpResponse:
        body = parse(read_body(request))
        iin = SandboxConsentRequest.objects.filter(pk=request_id).values_list("iin", flat=True).first()
        if iin is None:
            return JsonResponse({"error": "not_found"}, status=404)

        def answer() -> JsonResponse:
            # Locked, so that two concurrent confirms cannot both spend the same code or the same try.
            with transaction.atomic():
                consent = SandboxConsentRequest.objects.select_for_update().get(pk=request_id)
                return JsonResponse(action(consent, body))

        return serve(registry="consent", endpoint=endpoint, iin=iin, consent_request=str(request_id), answer=answer)

    view.__name__ = f"consent_{endpoint}"
    return view


def confirm(consent: SandboxConsentRequest, body: dict) -> dict:
    outcome = consent.confirm(body["code"], now=timezone.now())
    consent.save()
    if outcome["status"] == "granted":
        granted = {"iin": consent.iin, "registries": list(consent.registries)}
        transaction.on_commit(lambda: cache.set(consent_cache_key(consent.pk), granted, timeout=STATE_TTL_SECONDS))
    return outcome


def resend(consent: SandboxConsentRequest, body: dict) -> dict:
    """A new code only while one is awaited (an expired one included); otherwise the request's status."""
    citizen = find_citizen(consent.iin)
    if consent.status != ConsentStatus.CODE_SENT or citizen is None:
        return {"status": consent.status}
    send_code(consent, phone=citizen["phone"])
    return {"status": "code_sent", "expires_at": local_iso(consent.code_expires_at)}


def withdraw(consent: SandboxConsentRequest, body: dict) -> dict:
    outcome = consent.withdraw()
    consent.save()
    cache.delete(consent_cache_key(consent.pk))
    transaction.on_commit(lambda: cache.delete(consent_cache_key(consent.pk)))
    return outcome


consent_confirm = consent_action(confirm, "confirm", parse=lambda body: {"code": required_text(body, "code")})
consent_resend = consent_action(resend, "resend")
consent_withdraw = consent_action(withdraw, "withdraw")


# ---------------------------------------------------------------------------------------------------------------
# Person queries


def person_answer(citizen: dict | None) -> dict:
    if citizen is None:
        return {"found": False, "person": None}
    fields = ("surname", "given_names", "patronymic", "birth_date", "birth_place", "address", "phone")
    person = {field: citizen[field] for field in fields}
    person["photo"] = citizen["photo"] is not None
    return {"found": True, "person": person}


def licence_answer(citizen: dict | None) -> dict:
    """The fixture's licence, unless a licence issued since (reported to `licence_registry/licences`) replaced it."""
    if citizen is None:
        return {"found": False, "licence": None}
    issued = SandboxLicence.objects.filter(iin=citizen["iin"]).order_by("-received_at", "-id").first()
    if issued is not None:
        return {"found": True, "licence": {
            "number": issued.number, "categories": issued.categories, "issued_on": issued.issued_on.isoformat(),
            "expires_on": issued.expires_on.isoformat(), "status": "valid"}}
    return {"found": True, "licence": citizen["licence"]}


def erap_answer(citizen: dict | None) -> dict:
    """Records as held, lapsed ones included: whether a ban still counts is the client's decision."""
    if citizen is None:
        return {"found": False, "exam_ban": None, "deprivation": None}
    return {"found": True, "exam_ban": citizen["exam_ban"], "deprivation": citizen["deprivation"]}


def medical_answer(citizen: dict | None) -> dict:
    certificate = citizen["medical_073"] if citizen else None
    if certificate is not None:
        certificate = {"form": MEDICAL_FORM, **certificate}
    return {"found": citizen is not None, "certificate": certificate}


def erdb_answer(citizen: dict | None) -> dict:
    # Unknown: no flags at all, so that a careless reader cannot take "not on file" for "clean".
    if citizen is None:
        return {"found": False, "narcological": None, "psychiatric": None}
    return {"found": True, **citizen["erdb"]}


def driving_school_answer(citizen: dict | None) -> dict:
    return {"found": citizen is not None, "certificates": citizen["driving_school"] if citizen else []}


def exam_attempts_answer(citizen: dict | None) -> dict:
    """The fixture's earlier attempts, plus the failures reported to this exam system since (`exam_results`)."""
    if citizen is None:
        return {"found": False, "theory": None, "practical": None, "last_failed_on": None}
    answer = {"found": True, **citizen["exam_attempts"]}
    for kind, at in SandboxExamResult.objects.filter(iin=citizen["iin"], passed=False).values_list("kind", "at"):
        if kind in ("theory", "practical"):
            answer[kind] = (answer[kind] or 0) + 1
            failed_on = timezone.localdate(at).isoformat()
            answer["last_failed_on"] = max(filter(None, [answer["last_failed_on"], failed_on]))
    return answer


ANSWERS: dict[str, Callable[[dict | None], dict]] = {
    "person": person_answer,
    "licence_registry": licence_answer,
    "erap": erap_answer,
    "medical": medical_answer,
    "erdb": erdb_answer,
    "driving_school": driving_school_answer,
    "exam_attempts": exam_attempts_answer,
}


def consent_cache_key(request_id) -> str:
    return f"sandbox:consent:{request_id}"


def consent_covers(consent_request: str | None, *, iin: str, registry: str) -> bool:
    """A granted, not withdrawn consent of this person that lists this registry.

    Granted consents are remembered in the cache (dropped on withdrawal), so a person query does not need the
    database: under a benchmark's load the sandbox must not become the bottleneck it is meant to model.
    """
    try:
        request_id = uuid.UUID(str(consent_request))
    except ValueError:
        return False
    granted = cache.get(consent_cache_key(request_id))
    if granted is None:
        row = (SandboxConsentRequest.objects.filter(pk=request_id, status=ConsentStatus.GRANTED)
               .values_list("iin", "registries").first())
        if row is None:
            return False
        granted = {"iin": row[0], "registries": row[1]}
        cache.set(consent_cache_key(request_id), granted, timeout=STATE_TTL_SECONDS)
    return granted["iin"] == iin and registry in granted["registries"]


@sandbox_endpoint
@require_POST
def registry_query(request: HttpRequest, registry: str) -> HttpResponse:
    if registry not in ANSWERS:
        return JsonResponse({"error": "not_found"}, status=404)
    body = read_body(request)
    iin = iin_of(body)
    required_text(body, "purpose")
    consent_request = body.get("consent_request")
    if consent_request is not None and not isinstance(consent_request, str):
        raise BadRequest(_("The field “consent_request” must be a string."))

    def answer() -> JsonResponse:
        if not consent_covers(consent_request, iin=iin, registry=registry):
            return JsonResponse({"error": "consent_required"}, status=403)
        return JsonResponse(ANSWERS[registry](find_citizen(iin)))

    return serve(registry=registry, endpoint="query", iin=iin, consent_request=consent_request, answer=answer)


# ---------------------------------------------------------------------------------------------------------------
# sms: the SMS gateway


@sandbox_endpoint
@require_POST
def sms_send(request: HttpRequest) -> HttpResponse:
    body = read_body(request)
    text = required_text(body, "text")
    phone = optional_text(body, "phone")
    iin = optional_text(body, "iin")
    if not phone and not iin:
        raise BadRequest(_("Give a “phone” or an “iin”."))
    if iin and not IIN_SHAPE.fullmatch(iin):
        raise BadRequest(_("The field “iin” must be 12 digits."))
    if not iin:
        # A message by number still belongs to a fixture citizen, whose `sms` fault applies.
        owner = find_citizen_by_phone(phone)
        iin = owner["iin"] if owner else None

    def answer() -> JsonResponse:
        recipient = phone or (find_citizen(iin) or {}).get("phone")
        if not recipient:
            return JsonResponse({"status": "unknown_recipient"})
        message = SandboxSms.objects.create(phone=recipient, text=text)
        return JsonResponse({"status": "queued", "message_id": str(message.pk)})

    return serve(registry="sms", endpoint="send", iin=iin, consent_request=None, answer=answer)


# ---------------------------------------------------------------------------------------------------------------
# exam_attempts/results: the exam system records each result reported to it


@sandbox_endpoint
@require_POST
def exam_results(request: HttpRequest) -> HttpResponse:
    """Record one exam result; the same `reference` again is the same result (a retried report), recorded once."""
    body = read_body(request)
    iin = iin_of(body)
    reference = required_text(body, "reference")
    kind = required_text(body, "kind")
    if kind not in ("theory", "practical"):
        raise BadRequest(_("The field “kind” must be theory or practical."))
    passed = body.get("passed")
    if not isinstance(passed, bool):
        raise BadRequest(_("The field “passed” must be true or false."))
    score = body.get("score")
    if score is not None and (not isinstance(score, int) or isinstance(score, bool)):
        raise BadRequest(_("The field “score” must be a whole number or null."))
    try:
        at = parse_datetime(required_text(body, "at"))
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise BadRequest(_("The field “at” must be an ISO 8601 date-time with an offset."))

    def answer() -> JsonResponse:
        SandboxExamResult.objects.get_or_create(
            reference=reference, defaults={"iin": iin, "kind": kind, "passed": passed, "score": score, "at": at})
        return JsonResponse({"status": "recorded", "reference": reference})

    return serve(registry="exam_attempts", endpoint="results", iin=iin, consent_request=None, answer=answer)


# ---------------------------------------------------------------------------------------------------------------
# licence_registry/licences: the licence registry records a licence issued (and the one it replaces)


@sandbox_endpoint
@require_POST
def licence_issued(request: HttpRequest) -> HttpResponse:
    """Record a licence issued; the same number again is the same record."""
    body = read_body(request)
    iin = iin_of(body)
    number = required_text(body, "number")
    categories = body.get("categories")
    if not isinstance(categories, list) or not all(isinstance(code, str) for code in categories):
        raise BadRequest(_("The field “categories” must be a list of category codes."))
    try:
        issued_on = datetime.date.fromisoformat(required_text(body, "issued_on"))
        expires_on = datetime.date.fromisoformat(required_text(body, "expires_on"))
    except ValueError as error:
        raise BadRequest(_("Dates are YYYY-MM-DD.")) from error
    replaces = optional_text(body, "replaces") or ""

    def answer() -> JsonResponse:
        SandboxLicence.objects.get_or_create(number=number, defaults={
            "iin": iin, "categories": categories, "issued_on": issued_on, "expires_on": expires_on,
            "replaces": replaces})
        return JsonResponse({"status": "recorded", "number": number})

    return serve(registry="licence_registry", endpoint="licences", iin=iin, consent_request=None, answer=answer)


# ---------------------------------------------------------------------------------------------------------------
# The sandbox's own extras


@require_GET
def call_log(request: HttpRequest) -> HttpResponse:
    """Every call received for an IIN, oldest first. A test tool: no latency, no injected errors."""
    iin = request.GET.get("iin", "")
    if not IIN_SHAPE.fullmatch(iin):
        return JsonResponse(
            {"error": "bad_request", "detail": _("The query parameter “iin” must be 12 digits.")}, status=400
        )
    return JsonResponse(calls_for(iin), safe=False)
