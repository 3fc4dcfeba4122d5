from functools import cache

import redis
from django.conf import settings


@cache
def get_redis() -> redis.Redis:
    """The process's Redis client for breakers, rate limits and sandbox faults (not for RQ's own use)."""
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=3)
