"""One error shape for every API answer that is not a success, and for the render webhook:

    {"error": {"code": "invalid", "message": "brief: This field may not be blank.",
               "fields": {"brief": ["This field may not be blank."]}}}

`code` is stable and machine-readable, `message` is for people, `fields` names each offending
field (dotted for nested ones: `channels.0`), and is empty when no field is at fault.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger("phantoms.api")

# The codes a client can meet, by HTTP status (the schema documents them).
CODES = {
    400: "invalid", 401: "not_authenticated", 403: "permission_denied", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 413: "too_large",
    415: "unsupported_media_type", 422: "idempotency_key_reused", 429: "throttled", 500: "server_error",
    503: "unavailable",
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def json_error(status_code: int, message: str, *, code: str | None = None, fields: dict | None = None,
               **headers) -> JsonResponse:
    """The error shape as a plain Django response (middleware, webhook, URL-level 404)."""
    response = JsonResponse(error_body(code or CODES.get(status_code, "error"), message, fields), status=status_code)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field.sub": [messages]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if name == "non_field_errors":
                name = "body"
            for field, messages in flatten(value, name).items():
                out.setdefault(field, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or "body"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                if item:
                    for field, messages in flatten(item, f"{prefix}.{index}" if prefix else str(index)).items():
                        out.setdefault(field, []).extend(messages)
    else:
        out[prefix or "body"] = [str(detail)]
    return out


def summary(fields: dict[str, list[str]]) -> str:
    parts = [f"{name}: {' '.join(messages)}" for name, messages in fields.items()]
    text = "; ".join(parts)
    return text if len(text) <= 500 else text[:497] + "..."


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"

    def __init__(self, detail=None, *, error_code: str = "conflict", fields: dict | None = None):
        super().__init__(detail)
        self.error_code = error_code
        self.fields = fields or {}


class Unprocessable(Conflict):
    status_code = 422
    default_detail = "The request cannot be processed."
    default_code = "unprocessable"


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every error in the one shape; nothing unexpected becomes a bare 500."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        return Response(error_body("too_large", "body: the request body is larger than this API accepts",
                                   {"body": ["too large"]}), status=413)

    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: let Django log it and answer with handler500

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    if isinstance(exc, exceptions.ValidationError):
        fields = flatten(exc.detail)
        body = error_body("invalid", summary(fields), fields)
    else:
        detail = exc.detail
        if isinstance(detail, dict | list):
            fields = flatten(detail)
            message = summary(fields)
        else:
            fields, message = dict(getattr(exc, "fields", None) or {}), str(detail)
        code = getattr(exc, "error_code", None) or exc.default_code or CODES.get(exc.status_code)
        if isinstance(exc, exceptions.ParseError):
            code, fields = "parse_error", fields or {"body": [message]}
        body = error_body(code, message, fields)
    from rest_framework.views import set_rollback  # here: rest_framework.views loads this module's users

    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)
