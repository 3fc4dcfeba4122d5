"""What faults are set, per target, and how often calls came and faults fired: kept in Redis.

The settings are one Redis hash per target, read on every request, so `manage.py sandbox_faults`
(or a test) changes what the running web process serves at once, without a restart. Keys:
`phantoms:sandbox:faults:<target>` (hash of settings), `phantoms:sandbox:calls:<target>` (calls
received) and `phantoms:sandbox:fired:<target>` (hash: fault kind -> times fired). The
`phantoms:sandbox` prefix can be changed with the optional SANDBOX_KEY_PREFIX setting.
"""

import json

import redis
from django.conf import settings

from publishing import platforms

SERVICE_TARGETS = ("openai", "tts", "images", "pexels", "render")


def platform_targets() -> tuple[str, ...]:
    """Every registered platform is a target (publishing/platforms/registry.py, docs/platforms.md)."""
    return tuple(platforms.names())


def targets() -> tuple[str, ...]:
    return SERVICE_TARGETS + platform_targets()


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
    # On: accept_then_timeout spares chunk uploads and fires only on the post itself, so a test or an
    # operator can lose exactly the answers that matter for exactly-once.
    "lost_answers_on_posts_only": False,
}
BOOL_FIELDS = ("outage", "quota_exhausted", "lost_answers_on_posts_only")

_clients: dict[str, redis.Redis] = {}


def connection() -> redis.Redis:
    # Keyed by URL so a test that points REDIS_URL elsewhere gets its own client.
    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=3)
    return client


def key(kind: str, target: str) -> str:
    # Tests give each run its own prefix so they never clear the faults of a demo sharing the Redis.
    prefix = getattr(settings, "SANDBOX_KEY_PREFIX", DEFAULT_KEY_PREFIX)
    return f"{prefix}:{kind}:{target}"


def check_target(target: str) -> None:
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
    check_target(target)
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
    faults_key = key("faults", target)
    pipe = connection().pipeline()
    if to_set:
        pipe.hset(faults_key, mapping=to_set)
    if to_delete:
        pipe.hdel(faults_key, *to_delete)
    pipe.execute()
    return get_faults(target)


def clear_faults(target: str | None = None) -> None:
    names = targets() if target is None else (target,)
    for name in names:
        check_target(name)
    connection().delete(*[key("faults", name) for name in names])


def count_and_read(target: str) -> dict:
    """Count the call and read the target's faults in one round trip (every sandbox request does this)."""
    with connection().pipeline(transaction=False) as pipe:
        pipe.incr(key("calls", target))
        pipe.hgetall(key("faults", target))
        _, stored = pipe.execute()
    return _typed(stored)


def get_faults(target: str) -> dict:
    check_target(target)
    return _typed(connection().hgetall(key("faults", target)))


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
    check_target(target)
    return int(connection().get(key("calls", target)) or 0)


def fault_counts(target: str) -> dict[str, int]:
    """How many times each fault kind fired for a target since the last reset_call_counts()."""
    check_target(target)
    stored = connection().hgetall(key("fired", target))
    return {kind.decode(): int(count) for kind, count in stored.items()}


def reset_call_counts() -> None:
    keys = [key(kind, target) for kind in ("calls", "fired") for target in targets()]
    connection().delete(*keys)


def count_call(target: str) -> None:
    connection().incr(key("calls", target))


def fired(target: str, kind: str) -> None:
    connection().hincrby(key("fired", target), kind, 1)


def describe(faults: dict) -> str:
    """One line for `sandbox_faults show`: only the settings that differ from the defaults."""
    changed = {field: value for field, value in faults.items() if value != DEFAULTS[field]}
    return json.dumps(changed, sort_keys=True) if changed else "(none)"
