"""Reads for the status picture: `pipeline_status`, the API's metrics and the admin dashboard.

The one place state counts are computed (`state_counts`); every view of them asks here.
"""

import logging

import django_rq
from django.conf import settings
from django.db.models import Count
from redis.exceptions import RedisError

from phantoms.resilience.breakers import all_breakers
from phantoms.resilience.errors import BreakerOpen

from . import registry
from .models import BreakerEvent, DeadLetter

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
