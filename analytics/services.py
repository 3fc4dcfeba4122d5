"""Readings after publishing: their schedule, what a reading stores, and the daily rollups it feeds.

Schedules are rows with due times (docs/architecture.md, "Truth and transport"): a reading due soon
is queued when it is scheduled, a distant one is queued by the reconciler once it comes within
`stages.RECONCILE_HORIZON`, so a flushed Redis loses none and Redis never holds a month of jobs.
"""

import re
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from analytics.models import METRICS, MetricReadback, MetricRollup, ReadingSchedule
from analytics.stages import READBACK, RECONCILE_HORIZON
from phantoms.engine.queueing import enqueue_on_commit

HOUR, DAY = 3600, 86400
_UNITS = {"s": 1, "m": 60, "h": HOUR, "d": DAY, "w": 7 * DAY}
MAX_OFFSET = 366 * DAY
MAX_READINGS = 200


def default_offsets() -> list[int]:
    """+1 h, +6 h, +24 h, +72 h, +7 d, then daily to 30 d (settings.METRIC_READBACK_OFFSETS overrides)."""
    return [HOUR, 6 * HOUR, DAY, 3 * DAY, 7 * DAY, *(d * DAY for d in range(8, 31))]


def offsets_for(channel_id) -> list[int]:
    """The channel's own schedule if it has one, else the installation's."""
    own = ReadingSchedule.objects.filter(channel_id=channel_id).values_list("offsets", flat=True).first()
    if own is not None:
        return list(own)
    configured = settings.METRIC_READBACK_OFFSETS
    return list(configured) if configured is not None else default_offsets()


def parse_offsets(text: str) -> list[int]:
    """ "1h, 6h, 24h, 72h, 7d, daily to 30d" → seconds, sorted and unique. ValueError names the bad part.

    Each part is a number with a unit (s, m, h, d, w), plain seconds, or "daily to Nd" (every day after
    the last offset so far, up to N days).
    """
    offsets: list[int] = []
    for part in [p.strip().lower() for p in re.split(r"[,\n;]+", text or "") if p.strip()]:
        daily = re.fullmatch(r"daily (?:to|until) (\d+)\s*d", part)
        if daily:
            last_day = (max(offsets, default=0) // DAY) + 1
            offsets.extend(d * DAY for d in range(last_day, int(daily.group(1)) + 1))
            continue
        match = re.fullmatch(r"(\d+)\s*([smhdw]?)", part)
        if not match:
            raise ValueError(f"offsets: {part!r} is not a duration such as 6h, 3d or 'daily to 30d'")
        offsets.append(int(match.group(1)) * _UNITS[match.group(2) or "s"])
    return validate_offsets(offsets)


def validate_offsets(offsets) -> list[int]:
    if not isinstance(offsets, list | tuple) or not all(isinstance(o, int) and not isinstance(o, bool)
                                                         for o in offsets):
        raise ValueError("offsets: must be a list of whole seconds")
    cleaned = sorted(set(offsets))
    if not cleaned:
        raise ValueError("offsets: give at least one offset")
    if cleaned[0] < 0 or cleaned[-1] > MAX_OFFSET:
        raise ValueError(f"offsets: each must be between 0 and {MAX_OFFSET} seconds (a year)")
    if len(cleaned) > MAX_READINGS:
        raise ValueError(f"offsets: at most {MAX_READINGS} readings per post")
    return cleaned


def format_offsets(offsets) -> str:
    def one(seconds):
        for unit, size in (("d", DAY), ("h", HOUR), ("m", 60)):
            if seconds and seconds % size == 0:
                return f"{seconds // size}{unit}"
        return f"{seconds}s"
    return ", ".join(one(o) for o in offsets)


def set_schedule(channel_id, offsets) -> ReadingSchedule:
    """Give a channel its own offsets (readings already scheduled keep theirs)."""
    schedule, _ = ReadingSchedule.objects.update_or_create(channel_id=channel_id,
                                                           defaults={"offsets": validate_offsets(list(offsets))})
    return schedule


def schedule_readbacks(publication):
    """Create the readings due after publishing; queue those due soon, the reconciler queues the rest."""
    base = publication.published_at or timezone.now()
    offsets = offsets_for(publication.channel_id)
    if not offsets:
        return []
    existing = set(MetricReadback.objects.filter(publication=publication).values_list("offset_seconds", flat=True))
    rows = MetricReadback.objects.bulk_create([
        MetricReadback(publication=publication, offset_seconds=offset, due_at=base + timedelta(seconds=offset))
        for offset in offsets if offset not in existing
    ], ignore_conflicts=True)
    soon = timezone.now() + RECONCILE_HORIZON
    for readback in MetricReadback.objects.filter(publication=publication, state=MetricReadback.State.SCHEDULED,
                                                  due_at__lte=soon, job_id=""):
        delay = max(0.0, (readback.due_at - timezone.now()).total_seconds())
        enqueue_on_commit(READBACK, readback.pk, delay=delay)
    return rows


# --- taking a reading
def clean_values(values: dict) -> dict:
    """The canonical metrics only; anything not a whole number ≥ 0 is missing (None), never 0."""
    cleaned = {}
    for name in METRICS:
        value = (values or {}).get(name)
        cleaned[name] = value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
    return cleaned


def previous_values(publication_id, before_pk=None) -> dict:
    """The post's last known value of each metric (from its latest reading that gave it), or None.

    A reading without a metric leaves the last one standing, so the next reading's gain is measured
    from it; rebuild_rollups() does the same. A post has at most a schedule's worth of readings.
    """
    qs = MetricReadback.objects.filter(publication_id=publication_id, state=MetricReadback.State.TAKEN)
    if before_pk is not None:
        qs = qs.exclude(pk=before_pk)
    last = dict.fromkeys(METRICS)
    for row in qs.order_by("-taken_at", "-pk").values_list(*METRICS):
        for name, value in zip(METRICS, row, strict=True):
            if last[name] is None and value is not None:
                last[name] = value
        if all(v is not None for v in last.values()):
            break
    return last


def apply_reading(readback, reading, *, taken_at, batch_size: int, raw=None):
    """Write a reading onto the (locked or claimed) readback row's fields and add its gain to the rollup.

    Runs inside the stage's commit. A post the platform reports gone ends its schedule.
    """
    if getattr(reading, "gone", False):
        readback.state = MetricReadback.State.GONE
        readback.taken_at = taken_at
        readback.batch_size = batch_size
        readback.raw = raw or {}
        skip_remaining(readback.publication_id, after_pk=readback.pk)
        return
    values = clean_values(getattr(reading, "values", {}))
    before = previous_values(readback.publication_id, before_pk=readback.pk)
    for name, value in values.items():
        setattr(readback, name, value)
    readback.taken_at = taken_at
    readback.batch_size = batch_size
    readback.raw = raw if raw is not None else {"values": values}
    readback.state = MetricReadback.State.TAKEN
    publication = readback.publication
    add_to_rollup(day=taken_at.date(), asset_id=publication.asset_id, channel_id=publication.channel_id,
                  platform=publication.channel.platform, gains=gains(before, values))


def gains(before: dict, after: dict) -> dict:
    """What changed since the previous reading: None where this reading has no value for a metric."""
    return {name: (after[name] - (before.get(name) or 0)) if after[name] is not None else None for name in METRICS}


def skip_remaining(publication_id, after_pk=None) -> int:
    """The post is gone: its readings still scheduled are never taken."""
    qs = MetricReadback.objects.filter(publication_id=publication_id, state=MetricReadback.State.SCHEDULED)
    if after_pk is not None:
        qs = qs.exclude(pk=after_pk)
    return qs.update(state=MetricReadback.State.SKIPPED, job_id="", next_run_at=None)


_columns = ", ".join(METRICS)
_set_gains = ", ".join(
    # A metric this reading did not give leaves the day's figure as it was (NULL stays NULL).
    f"{m} = CASE WHEN excluded.{m} IS NULL THEN {MetricRollup._meta.db_table}.{m} "
    f"ELSE COALESCE({MetricRollup._meta.db_table}.{m}, 0) + excluded.{m} END"
    for m in METRICS
)
UPSERT_SQL = (
    f"INSERT INTO {MetricRollup._meta.db_table} (day, asset_id, channel_id, platform, {_columns}, readings) "
    f"VALUES (%s, %s, %s, %s, {', '.join(['%s'] * len(METRICS))}, 1) "
    f"ON CONFLICT (day, asset_id, channel_id) DO UPDATE SET {_set_gains}, "
    f"readings = {MetricRollup._meta.db_table}.readings + 1"
)


def add_to_rollup(*, day, asset_id, channel_id, platform, gains: dict):
    """One statement (an upsert that adds), on PostgreSQL and SQLite alike: cheap at any number of posts."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(UPSERT_SQL, [day, asset_id, channel_id, platform, *(gains[m] for m in METRICS)])


def rebuild_rollups() -> int:
    """Recompute every rollup from the readings (after a bulk import or a repair); returns rows written."""
    with transaction.atomic():
        MetricRollup.objects.all().delete()
        rows = 0
        last: dict = {}
        readings = (MetricReadback.objects.filter(state=MetricReadback.State.TAKEN)
                    .select_related("publication__channel").order_by("publication_id", "taken_at", "pk"))
        for readback in readings.iterator(chunk_size=2000):
            before = last.get(readback.publication_id, dict.fromkeys(METRICS))
            values = readback.values()
            add_to_rollup(day=readback.taken_at.date(), asset_id=readback.publication.asset_id,
                          channel_id=readback.publication.channel_id,
                          platform=readback.publication.channel.platform, gains=gains(before, values))
            # A later reading without a metric measures its gain from the last value there was.
            last[readback.publication_id] = {m: values[m] if values[m] is not None else before.get(m)
                                             for m in METRICS}
            rows += 1
        return rows
