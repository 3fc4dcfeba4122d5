"""Per-provider rate limits shared by every worker: an atomic token bucket in Redis.

A job over its limit is told how long to wait and is rescheduled; it never blocks a worker.
"""

import time

from django.conf import settings

from phantoms.redis import get_redis

# KEYS[1] bucket; ARGV: capacity, refill period (s), now (s). Returns seconds to wait (0 = token taken).
_TOKEN_BUCKET = """
local capacity = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local rate = capacity / period
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - ts) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('EXPIRE', KEYS[1], math.ceil(period * 2))
return tostring(wait)
"""


def acquire(provider: str, account: str = "") -> float:
    """Take one call's token for `provider` (and account); return 0, or seconds until one is free."""
    limit = settings.RATE_LIMITS.get(provider)
    if not limit:
        return 0.0
    capacity, period = limit
    key = f"phantoms:ratelimit:{provider}:{account}"
    wait = get_redis().eval(_TOKEN_BUCKET, 1, key, capacity, period, time.time())
    return float(wait)


def reset(provider: str, account: str = ""):
    get_redis().delete(f"phantoms:ratelimit:{provider}:{account}")
