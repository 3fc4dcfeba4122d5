"""What every sandbox endpoint shares: bearer auth and JSON bodies, in the target's error shape."""

import json

from django.http import JsonResponse

from sandbox import faults
from sandbox.oauth import store as oauth_store


def require_bearer(request, target: str) -> JsonResponse | None:
    """401 unless the request carries `Authorization: Bearer <something>`, as the real services demand.

    A rejected call still counts as a call to the target: it reached the service.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    # A token the sandbox's authorization server issued must also still be valid (sandbox.oauth).
    if scheme.lower() == "bearer" and token.strip() and not oauth_store.refused(token.strip()):
        return None
    faults.count_call(target)
    return faults.error_response(
        target, 401, "Missing, expired or revoked bearer token in the Authorization header.",
        code="invalid_api_key" if target in faults.OPENAI_TARGETS else "unauthorized",
        error_type="invalid_request_error",
    )


def json_body(request, target: str) -> tuple[dict | None, JsonResponse | None]:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None, faults.error_response(target, 400, "The request body is not valid JSON.",
                                           code="invalid_json", error_type="invalid_request_error")
    if not isinstance(body, dict):
        return None, faults.error_response(target, 400, "The request body must be a JSON object.",
                                           code="invalid_json", error_type="invalid_request_error")
    return body, None


def gate(request, target: str, *, on_accept=None):
    """Auth, then faults: the first thing every endpoint does. None means carry on."""
    denied = require_bearer(request, target)
    if denied is not None:
        return denied
    return faults.apply_faults(target, request, on_accept=on_accept)
