"""One picture of the system for `pipeline_status`, the API's metrics and the admin dashboard."""

import django_rq
from django.conf import settings
from django.db.models import Count
from redis.exceptions import RedisError

from phantoms.resilience.breakers import all_breakers
from phantoms.resilience.errors import BreakerOpen
from pipeline.models import Asset, DeadLetter
from publishing.models import Publication


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


def pipeline_status() -> dict:
    def counts(model):
        return {row["state"]: row["n"] for row in model.objects.values("state").annotate(n=Count("id"))}

    open_letters = DeadLetter.objects.filter(status=DeadLetter.Status.OPEN)
    return {
        "assets": counts(Asset),
        "publications": counts(Publication),
        "queues": queue_depths(),
        "breakers": breaker_states(),
        "dead_letters": {
            "open": open_letters.count(),
            "by_stage": {r["stage"]: r["n"] for r in open_letters.values("stage").annotate(n=Count("id"))},
        },
    }
