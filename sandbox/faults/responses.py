"""Faulted answers in each service's own documented shapes (errors, throttling, timeouts).

A platform's sandbox module registers its own error and throttling shapes (register_platform), so an
injected fault looks exactly like the platform's real one to the adapter.
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpResponse, JsonResponse

OPENAI_TARGETS = ("openai", "tts", "images")

# A platform's sandbox module gives its own error and throttling shapes (register_platform).
_error_shapes: dict[str, Callable] = {}
_rate_limit_shapes: dict[str, Callable] = {}


def register_platform(name: str, *, error: Callable | None = None, rate_limited: Callable | None = None) -> None:
    """`error(status, message, code, param) -> JsonResponse` and `rate_limited(faults) -> HttpResponse`
    in the platform's documented shapes, used by the injected faults too."""
    if error is not None:
        _error_shapes[name] = error
    if rate_limited is not None:
        _rate_limit_shapes[name] = rate_limited


def error_response(target: str, status: int, message: str, *, code: str, error_type: str = "",
                   param: str | None = None) -> JsonResponse:
    """An error in the shape the real service uses for this target."""
    if target in _error_shapes:
        return _error_shapes[target](status, message, code, param)
    if target in OPENAI_TARGETS:
        body: dict = {"error": {"message": message, "type": error_type or code, "param": param, "code": code}}
    elif target == "render":
        body = {"success": False, "message": message,
                "response": {"error": {"message": message, "code": code}}}
    elif target == "pexels":
        body = {"error": message}
    else:
        body = {"error": {"message": message, "code": code}}
        if param:
            body["error"]["field"] = param
    return JsonResponse(body, status=status)


def rate_limited(target: str, faults: dict) -> HttpResponse:
    retry_after = faults["retry_after"]
    if target in _rate_limit_shapes:
        return _rate_limit_shapes[target](faults)
    if target in OPENAI_TARGETS and faults["quota_exhausted"]:
        response = error_response(
            target, 429,
            "You exceeded your current quota, please check your plan and billing details.",
            code="insufficient_quota", error_type="insufficient_quota",
        )
        # The openai SDK honours this header; a retry cannot fix an empty quota.
        response["x-should-retry"] = "false"
        return response
    if target in OPENAI_TARGETS:
        response = error_response(target, 429, "Rate limit reached for requests.",
                                  code="rate_limit_exceeded", error_type="requests")
    else:
        response = error_response(target, 429, "Too many requests.", code="rate_limited")
    if target == "x":
        # X announces the end of the window as epoch seconds, never as Retry-After.
        response["x-rate-limit-limit"] = "50"
        response["x-rate-limit-remaining"] = "0"
        response["x-rate-limit-reset"] = str(int(time.time() + retry_after + 0.999))
    elif target == "pexels":
        # Pexels reports its quota in X-Ratelimit-* headers, the reset as epoch seconds.
        response["X-Ratelimit-Limit"] = "20000"
        response["X-Ratelimit-Remaining"] = "0"
        response["X-Ratelimit-Reset"] = str(int(time.time() + retry_after + 0.999))
    else:
        response["Retry-After"] = str(retry_after)
    return response


def timed_out(target: str) -> HttpResponse:
    time.sleep(settings.SANDBOX_TIMEOUT_SECONDS)
    return error_response(target, 504, "Gateway timeout.", code="timeout", error_type="server_error")


