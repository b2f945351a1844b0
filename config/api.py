"""What every API answer shares: RFC 9457 problem details, cursor pagination, times with milliseconds."""

import logging

from django.http import Http404, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, pagination, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

# The contract's error codes and their HTTP statuses.
STATUS_BY_CODE = {
    "missing_field": 400, "invalid_iin": 400, "invalid_category": 400, "category_prerequisite": 400,
    "invalid_consent_code": 400, "consent_code_expired": 400, "idempotency_key_missing": 400,
    "invalid_photo": 400, "validation_error": 400, "malformed_request": 400,
    "not_authenticated": 401,
    "channel_not_allowed": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "wrong_status": 409, "active_application_exists": 409, "slot_full": 409, "booking_exists": 409,
    "idempotency_key_in_use": 409, "claimed": 409,
    "not_acceptable": 406,
    "unsupported_media_type": 415,
    "idempotency_key_reused": 422, "slot_not_suitable": 422, "retake_too_early": 422,
    "resend_limit_reached": 429, "throttled": 429,
    "server_error": 500,
    "registry_unavailable": 503,
}

# Any other error DRF raises (none is expected): its own status, this code.
FALLBACK_CODE = "error"

# DRF's own validation codes that mean "you did not send it" (`empty`: a required list sent with nothing in it).
MISSING_CODES = {"required", "null", "blank", "empty"}


def problem(code: str, detail: str, *, status_code: int | None = None, errors: dict | None = None,
            headers: dict | None = None, **extra) -> Response:
    status_code = status_code or STATUS_BY_CODE.get(code, 400)
    body = {
        "type": "about:blank",
        "title": _http_title(status_code),
        "status": status_code,
        "detail": str(detail),
        "code": code,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def _http_title(status_code: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"


def _flatten(detail, prefix="") -> tuple[dict[str, list[str]], list[str]]:
    """DRF's nested ValidationError detail as {"field" or "field.sub": [messages]} and its codes."""
    errors: dict[str, list[str]] = {}
    codes: list[str] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            sub_errors, sub_codes = _flatten(value, name)
            errors.update(sub_errors)
            codes.extend(sub_codes)
    elif isinstance(detail, list):
        for item in detail:
            if isinstance(item, dict | list):
                sub_errors, sub_codes = _flatten(item, prefix)
                for key, value in sub_errors.items():
                    errors.setdefault(key, []).extend(value)
                codes.extend(sub_codes)
            else:
                errors.setdefault(prefix or "non_field_errors", []).append(str(item))
                codes.append(getattr(item, "code", "invalid"))
    else:
        errors.setdefault(prefix or "non_field_errors", []).append(str(detail))
        codes.append(getattr(detail, "code", "invalid"))
    return errors, codes


def validation_problem(error: exceptions.ValidationError) -> Response:
    errors, codes = _flatten(error.detail)
    if any(code in MISSING_CODES for code in codes):
        code = "missing_field"
        detail = _("A required field is missing.")
    else:
        code = next((c for c in codes if c in STATUS_BY_CODE), "validation_error")
        detail = _("Some fields are not valid.")
    return problem(code, detail, status_code=400, errors=errors)


def exception_handler(exc, context):
    """Every error the API raises, as problem details in the request's language."""
    if isinstance(exc, DomainError):
        errors = {exc.field: [exc.message]} if exc.field else None
        headers = {"Retry-After": str(exc.extra["retry_after"])} if "retry_after" in exc.extra else None
        return problem(exc.code, exc.message, status_code=exc.http_status, errors=errors, headers=headers,
                       **exc.extra)
    if isinstance(exc, Http404 | exceptions.NotFound | exceptions.PermissionDenied):
        # Never 403: nobody can probe which applications exist.
        return problem("not_found", _("Not found."), status_code=404)
    if isinstance(exc, exceptions.ValidationError):
        return validation_problem(exc)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        response = problem("not_authenticated", exc.detail, status_code=401)
        www_authenticate = context["request"].authenticators and context["view"].get_authenticate_header(
            context["request"])
        if www_authenticate:
            response["WWW-Authenticate"] = www_authenticate
        return response
    if isinstance(exc, exceptions.MethodNotAllowed):
        return problem("method_not_allowed", exc.detail, status_code=405)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return problem("unsupported_media_type", exc.detail, status_code=415)
    if isinstance(exc, exceptions.NotAcceptable):
        return problem("not_acceptable", exc.detail, status_code=406)
    if isinstance(exc, exceptions.ParseError):
        return problem("malformed_request", exc.detail, status_code=400)
    if isinstance(exc, exceptions.Throttled):
        headers = {"Retry-After": str(int(exc.wait))} if exc.wait is not None else None
        return problem("throttled", _("Too many requests. Please slow down."), status_code=429, headers=headers)
    response = drf_exception_handler(exc, context)
    if response is not None:
        return problem(FALLBACK_CODE, getattr(exc, "detail", _("Error.")), status_code=response.status_code)
    logger.exception("unexpected API error", exc_info=exc)
    return problem("server_error", _("Something went wrong on our side. Please try again later."), status_code=500)


def json_problem(code: str, detail: str, status_code: int) -> JsonResponse:
    """The same body for Django's own 404/500 handlers under /api/."""
    return JsonResponse({"type": "about:blank", "title": _http_title(status_code), "status": status_code,
                         "detail": str(detail), "code": code}, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


class CursorPagination(pagination.CursorPagination):
    """`{"next": url | null, "results": [...]}`: stable under inserts, no page counting.

    A `page_size` that is not a whole number from 1 to `max_page_size`, or a `cursor` that is not one the server
    gave, is `400 validation_error` naming it: nothing is answered silently with another page than asked.
    """

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = "-created_at"

    def get_page_size(self, request):
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        size = int(value) if value.isascii() and value.isdigit() else 0
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError({self.page_size_query_param: [
                _("Enter a whole number from 1 to %(maximum)d.") % {"maximum": self.max_page_size}]})
        return size

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({self.cursor_query_param: [
                _("This cursor is not valid: follow the next link as it was given.")]}) from None

    def get_paginated_response(self, data):
        return Response({"next": self.get_next_link(), "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {"next": {"type": ["string", "null"], "format": "uri"}, "results": schema},
        }

    def get_schema_operation_parameters(self, view):
        # In English and language-independent: the published schema is the same whatever the request's language.
        return [
            {"name": self.cursor_query_param, "required": False, "in": "query", "schema": {"type": "string"},
             "description": "The position in the list: take it from the `next` link, never build it "
                            "(another value is `400 validation_error`)."},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size, "default": self.page_size},
             "description": f"Results per page, 1 to {self.max_page_size} (another value is "
                            "`400 validation_error`)."},
        ]


class MillisecondDateTimeField(serializers.DateTimeField):
    """ISO 8601 with the server's offset and at least milliseconds: 2026-11-28T10:15:02.481+05:00."""

    def to_representation(self, value):
        if value is None:
            return None
        return timezone.localtime(value).isoformat(timespec="milliseconds")


@csrf_exempt  # any method: a POST to an unknown API path is a 404, not the CSRF middleware's HTML 403
def api_not_found(request, exception=None):
    return json_problem("not_found", _("Not found."), status.HTTP_404_NOT_FOUND)


def api_server_error(request):
    return json_problem("server_error", _("Something went wrong on our side. Please try again later."), 500)


PROBLEM_CODES = (*STATUS_BY_CODE, FALLBACK_CODE)


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, as every error of the API is answered, served as `application/problem+json`
    (schema only). `code` is a stable machine code; the members after it appear with the codes that carry them."""

    type = serializers.CharField(help_text="Always `about:blank`.")
    title = serializers.CharField(help_text="The HTTP status phrase.")
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="Human text in the request's language (Accept-Language).")
    code = serializers.ChoiceField(choices=PROBLEM_CODES, help_text="A stable machine code.")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False,
                                   help_text="For invalid fields: {field: [message, ...]}.")
    attempts_left = serializers.IntegerField(required=False, min_value=0,
                                             help_text="With `invalid_consent_code`: the tries left.")
    retry_after = serializers.IntegerField(required=False, min_value=0,
                                           help_text="With `throttled` from a consent resend: seconds to wait (also "
                                                     "the `Retry-After` header).")
    current_status = serializers.CharField(required=False,
                                           help_text="With `wrong_status`: the application's status.")
    retake_from = serializers.DateTimeField(required=False,
                                            help_text="With `retake_too_early`: from when a booking may be made.")
    claimed_by = serializers.CharField(required=False, help_text="With `claimed`: the officer who holds it.")
    claimed_until = serializers.DateTimeField(required=False, help_text="With `claimed`: until when.")

    def get_fields(self):
        fields = super().get_fields()
        for member, choices in PROBLEM_MEMBER_CHOICES.items():
            fields[member] = serializers.ChoiceField(choices=choices, required=False,
                                                     help_text=fields[member].help_text)
        return fields


# The values a problem member takes, registered by the app that owns them (config imports no app).
PROBLEM_MEMBER_CHOICES: dict[str, list] = {}


def register_problem_member_choices(member: str, choices) -> None:
    PROBLEM_MEMBER_CHOICES[member] = list(choices)


def problem_responses(*codes: str, authenticated: bool = True, throttled: bool = True) -> dict:
    """OpenAPI responses for these error codes, grouped by HTTP status, as `application/problem+json`; plus what
    every endpoint can answer: `401` where it needs credentials, `429` where it is throttled, and `500`."""
    from drf_spectacular.utils import OpenApiResponse

    common = ("server_error", *(["not_authenticated"] if authenticated else []), *(["throttled"] if throttled else []))
    by_status: dict[int, list[str]] = {}
    for code in (*codes, *common):
        by_status.setdefault(STATUS_BY_CODE[code], []).append(code)
    return {
        (status_code, PROBLEM_CONTENT_TYPE): OpenApiResponse(
            ProblemSerializer, description="`code`: " + ", ".join(f"`{code}`" for code in sorted(set(status_codes))))
        for status_code, status_codes in sorted(by_status.items())
    }


def tidy_schema(result, generator, request, public):
    """drf-spectacular hook, after its enum hook. Drops the `title` that model fields give their properties: they
    are the models' translated labels (the schema would change with the language) and generated clients name
    classes after them. A null choice is said as OAS 3.1 says it, `type: "null"`, not as a `NullEnum` component."""
    null_ref = "#/components/schemas/NullEnum"

    def tidy(node):
        if isinstance(node, dict):
            properties = node.get("properties")
            if isinstance(properties, dict):
                for member in properties.values():
                    if isinstance(member, dict):
                        member.pop("title", None)
            for value in node.values():
                tidy(value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                if value == {"$ref": null_ref}:
                    node[index] = {"type": "null"}
                else:
                    tidy(value)

    tidy(result)
    schemas = result.get("components", {}).get("schemas", {})
    schemas.pop("NullEnum", None)
    # A query parameter whose values are an enum's is that enum, so that a generated client has one type for both.
    enums = {tuple(schema["enum"]): name for name, schema in schemas.items() if "enum" in schema}
    for operation in (op for item in result.get("paths", {}).values() for op in item.values() if isinstance(op, dict)):
        for parameter in operation.get("parameters", []):
            name = enums.get(tuple(parameter.get("schema", {}).get("enum", ())))
            if name:
                parameter["schema"] = {"$ref": f"#/components/schemas/{name}"}
    # A body that is one of several shapes (oneOf) is still a body that must be sent.
    for operation in (op for item in result.get("paths", {}).values() for op in item.values() if isinstance(op, dict)):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            ref = media.get("schema", {}).get("$ref", "")
            if "oneOf" in schemas.get(ref.rpartition("/")[2], {}):
                operation["requestBody"]["required"] = True
    return result
