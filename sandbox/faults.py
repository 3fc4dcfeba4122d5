"""Fault injection for the sandbox services, shared through Redis.

The settings live in one Redis hash per target, read on every request, so `manage.py sandbox_faults`
(or a test) changes what the running web process serves at once, without a restart.

Keys: `phantoms:sandbox:faults:<target>` (hash of settings), `phantoms:sandbox:calls:<target>`
(calls received) and `phantoms:sandbox:fired:<target>` (hash: fault kind -> times fired). The
`phantoms:sandbox` prefix can be changed with the optional SANDBOX_KEY_PREFIX setting.

How a request is treated, in order:
  1. the call is counted;
  2. `outage` answers 503 to everything;
  3. `latency_ms` delays the request;
  4. one random draw picks at most one of rate_limit / error / timeout / accept_then_timeout. The
     rates are stacked, so each fires at exactly its configured rate while they sum to at most 1;
     beyond that the earlier ones in this list win.
"""

import json
import random
import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.http import HttpResponse, JsonResponse

from publishing import platforms

SERVICE_TARGETS = ("openai", "tts", "images", "pexels", "render")
OPENAI_TARGETS = ("openai", "tts", "images")


def platform_targets() -> tuple[str, ...]:
    """Every registered platform is a target (publishing/platforms/registry.py, docs/platforms.md)."""
    return tuple(platforms.names())


def targets() -> tuple[str, ...]:
    return SERVICE_TARGETS + platform_targets()


def __getattr__(name: str):
    # `faults.TARGETS` / `faults.PLATFORMS` follow the platform list, including one registered later.
    if name == "TARGETS":
        return targets()
    if name == "PLATFORMS":
        return platform_targets()
    raise AttributeError(name)


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

DEFAULT_KEY_PREFIX = "phantoms:sandbox"

RATE_FIELDS = ("rate_limit_rate", "error_rate", "timeout_rate", "accept_then_timeout_rate")
DEFAULTS: dict = {
    "error_rate": 0.0,
    "timeout_rate": 0.0,
    "rate_limit_rate": 0.0,
    "accept_then_timeout_rate": 0.0,
    "latency_ms": 0,
    "outage": False,
    "retry_after": 2,
    "quota_exhausted": False,
}
BOOL_FIELDS = ("outage", "quota_exhausted")

_clients: dict[str, redis.Redis] = {}


def connection() -> redis.Redis:
    # Keyed by URL so a test that points REDIS_URL elsewhere gets its own client.
    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=3)
    return client


def _key(kind: str, target: str) -> str:
    # Tests give each run its own prefix so they never clear the faults of a demo sharing the Redis.
    prefix = getattr(settings, "SANDBOX_KEY_PREFIX", DEFAULT_KEY_PREFIX)
    return f"{prefix}:{kind}:{target}"


def _check_target(target: str) -> None:
    if target not in targets():
        raise ValueError(f"unknown target {target!r}: expected one of {', '.join(targets())}")


def _parse_bool(field: str, value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "on", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("0", "false", "off", "no", ""):
        return False
    raise ValueError(f"{field} must be a boolean (on/off), got {value!r}")


def _validate(field: str, value):
    """The typed value for one field, or ValueError naming the field."""
    if field not in DEFAULTS:
        raise ValueError(f"unknown fault field {field!r}: expected one of {', '.join(DEFAULTS)}")
    if field in BOOL_FIELDS:
        return _parse_bool(field, value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field} must be a number, got {value!r}")
    if number != number:  # NaN compares false with everything and would slip past the range checks
        raise ValueError(f"{field} must be a number, got {value!r}")
    if field in RATE_FIELDS:
        if not 0.0 <= number <= 1.0:
            raise ValueError(f"{field} must be between 0 and 1, got {value!r}")
        return number
    if number < 0:
        raise ValueError(f"{field} must not be negative, got {value!r}")
    if field == "latency_ms":
        return int(number)
    return number


def _decode(field: str, raw: str):
    if field in BOOL_FIELDS:
        return raw == "1"
    if field == "latency_ms":
        return int(float(raw))
    value = float(raw)
    if field == "retry_after" and value.is_integer():
        return int(value)
    return value


def set_faults(target: str, **fields) -> dict:
    """Merge fault settings for a target; a field set to None goes back to its default."""
    _check_target(target)
    to_set: dict[str, str] = {}
    to_delete: list[str] = []
    for field, value in fields.items():
        if value is None:
            if field not in DEFAULTS:
                raise ValueError(f"unknown fault field {field!r}: expected one of {', '.join(DEFAULTS)}")
            to_delete.append(field)
            continue
        typed = _validate(field, value)
        to_set[field] = ("1" if typed else "0") if isinstance(typed, bool) else repr(typed)
    key = _key("faults", target)
    pipe = connection().pipeline()
    if to_set:
        pipe.hset(key, mapping=to_set)
    if to_delete:
        pipe.hdel(key, *to_delete)
    pipe.execute()
    return get_faults(target)


def clear_faults(target: str | None = None) -> None:
    names = targets() if target is None else (target,)
    for name in names:
        _check_target(name)
    connection().delete(*[_key("faults", name) for name in names])


def _count_and_read(target: str) -> dict:
    """Count the call and read the target's faults in one round trip (every sandbox request does this)."""
    with connection().pipeline(transaction=False) as pipe:
        pipe.incr(_key("calls", target))
        pipe.hgetall(_key("faults", target))
        _, stored = pipe.execute()
    return _typed(stored)


def get_faults(target: str) -> dict:
    _check_target(target)
    return _typed(connection().hgetall(_key("faults", target)))


def _typed(stored: dict) -> dict:
    faults = dict(DEFAULTS)
    for raw_field, raw_value in stored.items():
        field = raw_field.decode()
        if field in DEFAULTS:
            faults[field] = _decode(field, raw_value.decode())
    return faults


def all_faults() -> dict[str, dict]:
    return {target: get_faults(target) for target in targets()}


def call_count(target: str) -> int:
    _check_target(target)
    return int(connection().get(_key("calls", target)) or 0)


def fault_counts(target: str) -> dict[str, int]:
    """How many times each fault kind fired for a target since the last reset_call_counts()."""
    _check_target(target)
    stored = connection().hgetall(_key("fired", target))
    return {kind.decode(): int(count) for kind, count in stored.items()}


def reset_call_counts() -> None:
    keys = [_key(kind, target) for kind in ("calls", "fired") for target in targets()]
    connection().delete(*keys)


def count_call(target: str) -> None:
    connection().incr(_key("calls", target))


def _fired(target: str, kind: str) -> None:
    connection().hincrby(_key("fired", target), kind, 1)


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


def _rate_limited(target: str, faults: dict) -> HttpResponse:
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


def _timed_out(target: str) -> HttpResponse:
    time.sleep(settings.SANDBOX_TIMEOUT_SECONDS)
    return error_response(target, 504, "Gateway timeout.", code="timeout", error_type="server_error")


def apply_faults(target: str, request=None, *, on_accept=None) -> HttpResponse | None:
    """Count the call and return the faulted response, or None to let the view answer normally.

    `on_accept` is passed by platform post creation and by the render service's create call: an
    accept_then_timeout fault calls it (recording the post, starting the render) before holding the
    response past the client's timeout. Other platform calls ignore that fault; for other targets,
    or an invalid render, it behaves as a plain timeout.
    """
    _check_target(target)
    faults = _count_and_read(target)
    if faults["outage"]:
        _fired(target, "outage")
        return error_response(target, 503, "Service unavailable.", code="service_unavailable",
                              error_type="server_error")
    if faults["latency_ms"]:
        time.sleep(faults["latency_ms"] / 1000.0)

    accept_then_timeout = faults["accept_then_timeout_rate"]
    if target in platform_targets() and on_accept is None:
        accept_then_timeout = 0.0
    rates = [
        ("rate_limit", faults["rate_limit_rate"]),
        ("error", faults["error_rate"]),
        ("timeout", faults["timeout_rate"]),
        ("accept_then_timeout", accept_then_timeout),
    ]
    if not any(rate for _, rate in rates):
        return None
    draw = random.random()
    threshold = 0.0
    for kind, rate in rates:
        threshold += rate
        if rate and draw < threshold:
            _fired(target, kind)
            if kind == "rate_limit":
                return _rate_limited(target, faults)
            if kind == "error":
                return error_response(target, 500, "Internal server error (injected).",
                                      code="server_error", error_type="server_error")
            if kind == "accept_then_timeout" and on_accept is not None:
                on_accept()
            return _timed_out(target)
    return None


def describe(faults: dict) -> str:
    """One line for `sandbox_faults show`: only the settings that differ from the defaults."""
    changed = {field: value for field, value in faults.items() if value != DEFAULTS[field]}
    return json.dumps(changed, sort_keys=True) if changed else "(none)"
