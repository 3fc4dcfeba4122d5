"""Reads for the status picture: `pipeline_status`, the API's metrics and the admin dashboard.

The one place state counts are computed (`state_counts`); every view of them asks here.
"""

import logging
from datetime import UTC as dt_timezone
from datetime import timedelta

import django_rq
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from redis.exceptions import RedisError

from phantoms.resilience.breakers import all_breakers
from phantoms.resilience.errors import BreakerOpen

from . import registry
from .models import BreakerEvent, DeadLetter, StageAttempt

logger = logging.getLogger("phantoms.status")


def state_counts(model_or_queryset) -> dict[str, int]:
    """{state: rows} for a tracked model (or a queryset of one); states with no rows are left out."""
    queryset = getattr(model_or_queryset, "objects", model_or_queryset)
    return {row["state"]: row["n"] for row in queryset.order_by().values("state").annotate(n=Count("pk"))}


def open_dead_letters():
    return DeadLetter.objects.filter(status=DeadLetter.Status.OPEN)


def queue_depths() -> dict:
    depths = {}
    for name in settings.PIPELINE_QUEUES:
        queue = django_rq.get_queue(name)
        depths[name] = {
            "queued": queue.count,
            "scheduled": queue.scheduled_job_registry.count,
            "started": queue.started_job_registry.count,
            "failed": queue.failed_job_registry.count,
        }
    return depths


def breaker_states() -> list[dict]:
    rows = []
    for breaker in all_breakers():
        try:
            status = breaker.status()
        except (BreakerOpen, RedisError) as exc:
            rows.append({"name": breaker.name, "state": "unknown", "error": str(exc)})
            continue
        rows.append({
            "name": status.name,
            "state": status.state,
            "fail_counter": status.fail_counter,
            "fail_max": status.fail_max,
            "reset_timeout": status.reset_timeout,
            "opened_at": status.opened_at.isoformat() if status.opened_at else None,
            "probe_at": status.probe_at.isoformat() if status.probe_at else None,
            "rejected_calls": status.rejected_calls,
        })
    return rows


def pipeline_status(scope=None) -> dict:
    """Rows by state for every tracked model ("assets", "publications", ...), queues, breakers, letters.

    `scope` (queryset -> queryset) narrows the rows counted, e.g. to a user's teams.
    """
    def narrow(queryset):
        return scope(queryset) if scope else queryset

    letters = narrow(open_dead_letters())
    return {
        **{key: state_counts(narrow(model.objects.all())) for key, model in registry.tracked_models().items()},
        "queues": queue_depths(),
        "breakers": breaker_states(),
        "dead_letters": {
            "open": letters.count(),
            "by_stage": {r["stage"]: r["n"] for r in letters.order_by().values("stage").annotate(n=Count("id"))},
        },
    }


def filter_dead_letters(qs=None, *, stage=None, queue=None, platform=None, since=None, error_class=None,
                        status=DeadLetter.Status.OPEN):
    """Dead letters matching the operator's filters, oldest failure first."""
    qs = DeadLetter.objects.all() if qs is None else qs
    filters = {"status": status, "stage": stage, "queue": queue, "platform": platform, "error_class": error_class,
               "last_failed_at__gte": since}
    qs = qs.filter(**{name: value for name, value in filters.items() if value})
    return qs.select_related("asset", "publication").order_by("last_failed_at", "id")


def breaker_overview(events_per_breaker: int = 10) -> list[dict]:
    """Each breaker's status (or why it could not be read) with its latest recorded changes."""
    rows = []
    for breaker in all_breakers():
        row = {"name": breaker.name, "status": None, "error": ""}
        try:
            row["status"] = breaker.status()
        except Exception as exc:  # an unreadable breaker must not take the whole page down
            logger.warning("breaker %s unreadable: %s", breaker.name, exc)
            row["error"] = str(exc)
        row["events"] = list(BreakerEvent.objects.filter(name=breaker.name)[:events_per_breaker])
        rows.append(row)
    return rows


# --- the pipeline dashboard (admin home): each a fixed number of queries, whatever the rows.
DASHBOARD_WINDOW_HOURS = 24


def queue_overview() -> dict:
    """Per queue: depths, and how long the oldest job still waiting has waited (seconds, or None)."""
    from rq.job import Job

    from phantoms.redis import get_redis

    from .queueing import get_queue

    connection = get_redis()
    overview = {}
    now = timezone.now()
    for name in settings.PIPELINE_QUEUES:
        queue = get_queue(name)
        oldest = None
        first = queue.get_job_ids(0, 1)
        if first:
            job = Job.fetch(first[0], connection=connection) if Job.exists(first[0], connection=connection) else None
            if job is not None and job.enqueued_at:
                enqueued = job.enqueued_at
                enqueued = enqueued if enqueued.tzinfo else enqueued.replace(tzinfo=dt_timezone)
                oldest = max(0.0, (now - enqueued).total_seconds())
        overview[name] = {"queued": queue.count, "scheduled": queue.scheduled_job_registry.count,
                          "started": queue.started_job_registry.count, "failed": queue.failed_job_registry.count,
                          "oldest_age_seconds": oldest}
    return overview


def throughput(since) -> dict:
    """{stage: {outcome: attempts}} for attempts that finished since `since`: one query."""
    rows = (StageAttempt.objects.filter(finished_at__gte=since).order_by().values("stage", "outcome")
            .annotate(n=Count("pk")))
    result: dict[str, dict] = {}
    for row in rows:
        result.setdefault(row["stage"], {})[row["outcome"]] = row["n"]
    return {stage: result[stage] for stage in sorted(result)}


def stage_durations(since) -> list[dict]:
    """p50 and p95 of succeeded attempts' durations (ms) per stage and provider since `since`: one query.

    PostgreSQL computes them (percentile_cont); elsewhere (the embedded SQLite) they are interpolated
    the same way from the durations.
    """
    succeeded = StageAttempt.objects.filter(started_at__gte=since, outcome=StageAttempt.Outcome.SUCCEEDED,
                                            duration_ms__isnull=False)
    if connection.vendor == "postgresql":
        sql = (f"SELECT stage, provider, count(*), "
               f"percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms), "
               f"percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) "
               f"FROM {StageAttempt._meta.db_table} WHERE started_at >= %s AND outcome = %s "
               f"AND duration_ms IS NOT NULL GROUP BY stage, provider ORDER BY stage, provider")
        with connection.cursor() as cursor:
            cursor.execute(sql, [since, StageAttempt.Outcome.SUCCEEDED])
            return [{"stage": s, "provider": p or "—", "n": n, "p50": round(p50), "p95": round(p95)}
                    for s, p, n, p50, p95 in cursor.fetchall()]
    groups: dict[tuple, list] = {}
    for stage, provider, ms in succeeded.order_by().values_list("stage", "provider", "duration_ms").iterator():
        groups.setdefault((stage, provider), []).append(ms)
    return [{"stage": s, "provider": p or "—", "n": len(v), "p50": round(_percentile(v, 0.5)),
             "p95": round(_percentile(v, 0.95))} for (s, p), v in sorted(groups.items())]


def _percentile(values: list, q: float) -> float:
    """percentile_cont: linear interpolation between the closest ranks."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def recent_trips(since, limit: int = 10) -> list:
    """Breakers that opened since `since`, newest first: one query."""
    return list(BreakerEvent.objects.filter(to_state="open", at__gte=since).order_by("-at")[:limit])


def dead_letters_by_class(letters=None) -> list[dict]:
    """Open dead letters per stage and error class, most first: one query."""
    letters = open_dead_letters() if letters is None else letters
    return list(letters.order_by().values("stage", "error_class").annotate(n=Count("pk"))
                .order_by("-n", "stage", "error_class"))


def dashboard_since():
    return timezone.now() - timedelta(hours=DASHBOARD_WINDOW_HOURS)
