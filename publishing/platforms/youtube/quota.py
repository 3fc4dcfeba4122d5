"""YouTube quota, counted where YouTube counts it: per Google Cloud project, per day, until Pacific midnight.

YouTube Data API v3, "Quota costs": a project has 100 `videos.insert` calls a day in their own
bucket and 10,000 units a day for the other methods combined (`videos.list` costs 1); daily quotas
reset at midnight Pacific Time. Counters live in Redis so every worker shares them; when YouTube says
`quotaExceeded` anyway (another client of the same project), the bucket is marked spent until the
reset, and every publication waits for it without calling.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from phantoms.redis import get_redis
from phantoms.resilience.errors import RateLimited

PACIFIC = ZoneInfo("America/Los_Angeles")
INSERTS = "videos.insert"
UNITS = "units"


def limits() -> dict[str, int]:
    return {INSERTS: settings.YOUTUBE_QUOTA_INSERTS_PER_DAY, UNITS: settings.YOUTUBE_QUOTA_UNITS_PER_DAY}


def seconds_until_reset(now: datetime | None = None) -> float:
    """Seconds until the next midnight in Pacific Time (DST included, through the zone database)."""
    now = (now or datetime.now(tz=PACIFIC)).astimezone(PACIFIC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=PACIFIC)
    return max((midnight - now).total_seconds(), 1.0)


def _key(bucket: str, now: datetime | None = None) -> str:
    day = (now or datetime.now(tz=PACIFIC)).astimezone(PACIFIC).date().isoformat()
    return f"phantoms:quota:youtube:{settings.YOUTUBE_PROJECT}:{bucket}:{day}"


def spend(bucket: str, units: int = 1) -> None:
    """Take `units` from today's bucket, or raise RateLimited until Pacific midnight."""
    key = _key(bucket)
    redis = get_redis()
    used = redis.incrby(key, units)
    if used == units:
        redis.expire(key, int(seconds_until_reset()) + 3600)
    if used > limits()[bucket]:
        redis.decrby(key, units)
        raise RateLimited(f"YouTube {bucket} quota of project {settings.YOUTUBE_PROJECT} is spent for today "
                          f"({limits()[bucket]} a day); it resets at midnight Pacific Time",
                          retry_after=seconds_until_reset(), provider="youtube")


def exhausted(bucket: str) -> None:
    """YouTube said the quota is spent: nobody in this project calls again before the reset."""
    get_redis().set(_key(bucket), limits()[bucket], ex=int(seconds_until_reset()) + 3600)


def used(bucket: str) -> int:
    return int(get_redis().get(_key(bucket)) or 0)
