"""`Idempotency-Key` for every POST (shared/api-v1.md, Conventions), kept in the database.

Hand-written: the contract's answers (replay with `Idempotent-Replayed`, 422 on another body, 409 while running)
and a claim that the database's unique constraint decides are more than drf-idempotency-style packages give, and
bench/api.py measured the create path with this one INSERT claim.

The same key with the same body within 24 hours returns the first response again, with `Idempotent-Replayed: true`,
and does nothing twice; the same key with another body is `422 idempotency_key_reused`; the same key while the
first request is still running is `409 idempotency_key_in_use`. The key row is claimed with an INSERT that the
unique constraint decides, so two concurrent retries cannot both run the request. A claim left unanswered for
IDEMPOTENCY_ABANDONED_SECONDS (its process died) is taken over by the next retry with the same body, which then
gets the answer the state gives (for a create that did commit: `409 active_application_exists`).

A `404 not_found` is not kept: nothing was found and nothing was done, so the key stays free (a key first sent to a
wrong or unseen application does not answer `422` when it is then sent where it belongs).
"""

import contextlib
import datetime
import functools
import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.response import Response

from config.api import problem

from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255

# What an idempotent POST may answer besides its own outcomes (the key's rules, and the body the key is hashed with).
IDEMPOTENCY_CODES = ("idempotency_key_in_use", "idempotency_key_reused", "validation_error", "malformed_request",
                     "unsupported_media_type")


def idempotency_key_parameter(*, required: bool = False):
    """The header as the OpenAPI schema documents it."""
    from drf_spectacular.utils import OpenApiParameter

    return OpenApiParameter(
        HEADER, {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH}, OpenApiParameter.HEADER,
        required=required,
        description="Any string of 1 to 255 characters, new for each new request. The same key and body within "
                    "24 h replays the first answer (with header `Idempotent-Replayed: true`) and does nothing twice; "
                    "the same key with another body or on another path is `422 idempotency_key_reused`; while the "
                    "first is still running, `409 idempotency_key_in_use`. A `404` is not kept against the key."
                    + (" Required from channel clients (`400 idempotency_key_missing`)." if required else ""))


def caller_identity(request) -> str:
    user = request.user
    return str(getattr(user, "pk", None) or "anonymous")


def request_fingerprint(request, path: str) -> str:
    try:
        body = json.dumps(request.data, sort_keys=True, default=str)
    except TypeError:
        body = repr(request.data)
    return hashlib.sha256(f"{request.method} {path}\n{body}".encode()).hexdigest()


def idempotent(*, required_for_channels: bool = False, atomic: bool = False):
    """Decorate an APIView's `post` so that it honours `Idempotency-Key`.

    `atomic`: the view and the answer kept for the key commit together, in one transaction (one commit to wait for,
    and no moment when the change is committed but its answer is not). Only for views that call no registry or
    other service while they write: the transaction is held for the whole view.
    """

    def decorator(view_method):
        @functools.wraps(view_method)
        def wrapper(self, request, *args, **kwargs):
            from accounts.models import ChannelClient

            key = request.headers.get(HEADER, "").strip()
            if not key:
                if required_for_channels and isinstance(request.user, ChannelClient):
                    return problem("idempotency_key_missing", _("This request needs an Idempotency-Key header."))
                return view_method(self, request, *args, **kwargs)
            if len(key) > MAX_KEY_LENGTH:
                return problem("validation_error", _("The Idempotency-Key is too long (255 characters at most)."),
                               errors={HEADER: [_("At most 255 characters.")]})
            record, claimed = _claim(request, key)
            if not claimed:
                return _answer_for_existing(record, request)
            try:
                with transaction.atomic() if atomic else contextlib.nullcontext():
                    try:
                        response = view_method(self, request, *args, **kwargs)
                    except Exception as error:
                        # A refusal (4xx) is an answer too: render it here so that a retry gets the same one.
                        response = self.handle_exception(error)
                    # A refusal whose statement failed in the view's transaction (a service that takes no savepoint
                    # of its own, like the create's conflict) leaves nothing to keep but its answer, stored after.
                    rolled_back = atomic and (response.status_code >= 500
                                              or transaction.get_connection().needs_rollback)
                    if rolled_back:
                        transaction.set_rollback(True)  # nothing of a failed request is kept
                    elif atomic:
                        _store(record, response)
            except Exception:
                # No answer worth keeping: free the key for a retry.
                IdempotencyRecord.objects.filter(pk=record.pk).delete()
                raise
            if not atomic or rolled_back:
                _store(record, response)
            return response

        return wrapper

    return decorator


def _claim(request, key: str) -> tuple[IdempotencyRecord, bool]:
    """Insert the key's row: the unique constraint lets one request through. A row older than the window is
    a key used a day ago: it is replaced. Expired rows are also purged by the periodic sweep."""
    caller = caller_identity(request)
    fields = {"caller": caller, "key": key, "method": request.method, "path": request.path,
              "request_hash": request_fingerprint(request, request.path)}
    for _attempt in range(2):
        try:
            return _insert(fields), True
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(caller=caller, key=key).first()
            if existing is not None and existing.created_at >= _window_start():
                return existing, _take_over_if_abandoned(existing, fields["request_hash"])
            IdempotencyRecord.objects.filter(caller=caller, key=key, created_at__lt=_window_start()).delete()
    return IdempotencyRecord.objects.get(caller=caller, key=key), False


def _take_over_if_abandoned(record: IdempotencyRecord, request_hash: str) -> bool:
    """True when this retry now owns a claim whose request died unanswered (one retry wins the UPDATE)."""
    abandoned_before = timezone.now() - datetime.timedelta(seconds=settings.IDEMPOTENCY_ABANDONED_SECONDS)
    answered_or_alive = record.response_status is not None or record.created_at >= abandoned_before
    if answered_or_alive or record.request_hash != request_hash:
        return False
    now = timezone.now()
    taken = IdempotencyRecord.objects.filter(pk=record.pk, response_status__isnull=True,
                                             created_at=record.created_at).update(created_at=now)
    record.created_at = now
    return bool(taken)


def _insert(fields: dict) -> IdempotencyRecord:
    # Inside a transaction (tests), a savepoint keeps a conflict from breaking the caller's transaction.
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(**fields)
    if connection.vendor != "postgresql":
        return IdempotencyRecord.objects.create(**fields)
    return _insert_claim_without_waiting_for_the_disk(connection, IdempotencyRecord(**fields))


def _insert_claim_without_waiting_for_the_disk(connection, record: IdempotencyRecord) -> IdempotencyRecord:
    """The claim, in one round trip: an INSERT in its own transaction that other requests see at once, but whose
    commit does not wait for the disk. The request's own changes and its answer commit synchronously after it, and
    their flush carries the claim with them (the log is written in order); a crash before that loses the claim
    together with everything it stood for, so a retry then runs the request as new."""
    meta = IdempotencyRecord._meta
    columns = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    # Two statements in one query string are one transaction (autocommit), so SET LOCAL covers the INSERT only.
    sql = (f"SET LOCAL synchronous_commit = off; INSERT INTO {quote(meta.db_table)} "
           f"({', '.join(quote(field.column) for field in columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
           f"RETURNING {quote(meta.pk.column)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [field.get_db_prep_save(getattr(record, field.attname), connection) for field in columns])
        cursor.nextset()
        record.pk = cursor.fetchone()[0]
    record._state.adding, record._state.db = False, connection.alias
    return record


def _window_start() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)


def purge_expired() -> int:
    """Forget keys older than the window (the periodic sweep)."""
    return IdempotencyRecord.objects.filter(created_at__lt=_window_start()).delete()[0]


def _answer_for_existing(record: IdempotencyRecord, request) -> Response:
    if record.request_hash != request_fingerprint(request, request.path):
        return problem("idempotency_key_reused", _("This Idempotency-Key was used for another request."))
    if record.response_status is None:
        return problem("idempotency_key_in_use", _("A request with this Idempotency-Key is still being processed."))
    response = Response(record.response_body, status=record.response_status,
                        headers={**record.response_headers, "Idempotent-Replayed": "true"})
    if record.response_headers.get("Content-Type"):
        response.content_type = record.response_headers["Content-Type"]
    return response


def _store(record: IdempotencyRecord, response) -> None:
    if response.status_code >= 500 or response.status_code == 404:
        # A server error is worth retrying; a not-found did nothing and must not hold the key against another path.
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return
    headers = {name: response[name] for name in ("Location", "Retry-After") if response.has_header(name)}
    if getattr(response, "content_type", None):
        headers["Content-Type"] = response.content_type
    _write_answer(record, status=response.status_code, body=getattr(response, "data", None), headers=headers)


def _write_answer(record: IdempotencyRecord, *, status: int, body, headers: dict) -> None:
    """One UPDATE by primary key, written out: on every POST, QuerySet.update's compiling cost more than the
    statement's round trip (bench/api.py's create)."""
    connection = transaction.get_connection()
    meta, quote = IdempotencyRecord._meta, connection.ops.quote_name
    answer = {"response_status": status, "response_body": body, "response_headers": headers}
    fields = [meta.get_field(name) for name in answer]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(field.column)} = %s' for field in fields)} "
            f"WHERE {quote(meta.pk.column)} = %s",
            [*(field.get_db_prep_save(answer[field.name], connection) for field in fields), record.pk])
