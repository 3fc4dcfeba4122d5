"""Rebuild lost work from the database (docs/architecture.md, "Truth and transport").

One rule, whatever Redis says about a job's status: a row that a registered stage should be moving,
whose next job was due more than `RECONCILE_GRACE` seconds ago (or whose claim has lapsed), and that
no worker holds, gets a new job. It covers every way a job goes missing with one check: a job popped
by a worker that died before starting it (a worker on several queues pops with BLPOP and keeps no
record; the job stays `queued` in no queue for ever), a job handed to a stopped worker, a flushed
Redis, a scheduler that died holding its lock, a crash between commit and enqueue. The only thing
asked of Redis is whether the old job is still waiting in its queue's list: a backlog is not a loss,
and another copy would only lengthen it.

The replaced job, should it surface after all (the stopped worker resumes), claims nothing: a job
claims only the row that names it (`claim.py`). The new job is written to the row with a conditional
UPDATE, so a worker that claims the row meanwhile wins and the reconciler leaves it alone.

Attempts still `running` under a lease nobody holds any more are closed as `abandoned`.

Cost per pass: one query per stage on the (state, next_run_at) index, at most `RECONCILE_BATCH` rows,
oldest due first; one Redis round trip to read the lists of the queues those rows' jobs wait in, only
when some row is overdue; one UPDATE per row given a new job; one Redis round trip to put them all.
Apps add passes of their own (`registry.register_repair`) for repairs only they understand.
"""

import logging
import uuid
from collections import Counter, defaultdict
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from .. import registry
from ..handler import StageHandler
from ..models import StageAttempt
from ..queueing import JOB_OPTIONS, get_queue, put_many

logger = logging.getLogger("phantoms.reconciler")

ABANDONED_ERROR = "abandoned: its worker was lost (the lease lapsed while the attempt was running)"


def _due(now, grace: timedelta) -> Q:
    """Rows whose claim lapsed, or that nobody claimed by their due time plus the grace period."""
    lapsed = Q(lease_expires_at__lt=now)
    unclaimed = Q(lease_expires_at__isnull=True) & (Q(next_run_at__isnull=True) | Q(next_run_at__lte=now - grace))
    return lapsed | unclaimed


def overdue(stage: StageHandler, now, grace: timedelta, limit: int) -> list[tuple]:
    """(pk, job_id, next_run_at) of the stage's rows that should be moving and are not, oldest due first."""
    rows = stage.rows_to_reconcile().filter(_due(now, grace))
    return list(rows.order_by(F("next_run_at").asc(nulls_first=True), "pk")
                .values_list("pk", "job_id", "next_run_at")[:limit])


def waiting_in_queues(queue_names, connection) -> set[str]:
    """Ids of the jobs sitting in these queues' lists, read in one round trip."""
    names = sorted(set(queue_names))
    if not names:
        return set()
    with connection.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.lrange(get_queue(name).key, 0, -1)
        lists = pipe.execute()
    return {job_id.decode() for ids in lists for job_id in ids}


def _take_over(stage: StageHandler, pk, old_job_id: str, delay: float, now, grace) -> str | None:
    """Name a new job on the row, only if it still has the old one and still nobody holds it."""
    job_id = str(uuid.uuid4())
    taken = (stage.model.objects.filter(pk=pk, job_id=old_job_id, state__in=list(stage.states))
             .filter(_due(now, grace))
             .update(job_id=job_id, next_run_at=now + timedelta(seconds=delay)))
    return job_id if taken else None


def requeue_overdue(now=None) -> Counter:
    """Give every overdue row a new job; returns how many per tracked model key."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.RECONCILE_GRACE)
    counts = Counter({key: 0 for key in registry.tracked_models()})
    found = [(stage, overdue(stage, now, grace, settings.RECONCILE_BATCH)) for stage in registry.all_stages()]
    found = [(stage, rows) for stage, rows in found if rows]
    if not found:
        return counts
    waiting = waiting_in_queues([stage.queue for stage, _ in found], get_queue(found[0][0].queue).connection)
    jobs = []
    for stage, rows in found:
        lost = [(pk, job_id, due) for pk, job_id, due in rows if not job_id or job_id not in waiting]
        custom_delay = type(stage).reconcile_delay is not StageHandler.reconcile_delay
        loaded = stage.model.objects.in_bulk([pk for pk, _, _ in lost]) if custom_delay and lost else {}
        for pk, old_job_id, due in lost:
            delay = max(0.0, (due - now).total_seconds()) if due else 0.0
            if custom_delay and pk in loaded:
                delay = stage.reconcile_delay(loaded[pk], delay)
            job_id = _take_over(stage, pk, old_job_id, delay, now, grace)
            if job_id:
                jobs.append((stage, pk, delay, job_id))
                counts[registry.tracked_key(stage.model)] += 1
    put_many(jobs)
    return counts


def close_abandoned_attempts(now=None) -> int:
    """Close `running` attempts whose lease no row holds any more: their worker is gone."""
    now = now or timezone.now()
    running = list(StageAttempt.objects.filter(outcome=StageAttempt.Outcome.RUNNING)
                   .values_list("pk", "stage", "lease_token", "started_at"))
    if not running:
        return 0
    tokens = defaultdict(set)
    for _, stage, token, _ in running:
        if token:
            tokens[stage].add(token)
    live = set()
    for stage_name, stage_tokens in tokens.items():
        try:
            model = registry.get_stage(stage_name).model
        except registry.UnknownStage:
            continue
        live |= set(model.objects.filter(lease_owner__in=stage_tokens, lease_expires_at__gt=now)
                    .values_list("lease_owner", flat=True))
    # An attempt recorded before attempts carried their lease: no job runs longer than its timeout.
    oldest_possible = now - timedelta(seconds=JOB_OPTIONS["job_timeout"] + settings.LEASE_SECONDS)
    abandoned = [pk for pk, stage, token, started in running
                 if (token and token not in live and stage in tokens and _known(stage))
                 or (not token and started < oldest_possible)]
    if not abandoned:
        return 0
    # Conditional: an attempt its worker finished meanwhile keeps its real outcome.
    return StageAttempt.objects.filter(pk__in=abandoned, outcome=StageAttempt.Outcome.RUNNING).update(
        outcome=StageAttempt.Outcome.ABANDONED, finished_at=now, error=ABANDONED_ERROR)


def _known(stage_name: str) -> bool:
    return stage_name in registry.stage_names()


def reconcile() -> dict:
    """One pass: new jobs for overdue rows, abandoned attempts closed, the apps' repairs. Returns counts."""
    now = timezone.now()
    counts = requeue_overdue(now)
    counts["abandoned"] = close_abandoned_attempts(now)
    for name, repair in registry.repairs().items():
        counts[name] = repair()
    counts = dict(counts)
    if any(counts.values()):
        logger.info("reconciler: %s", counts)
    return counts
