"""Rebuild missing jobs from the database (docs/architecture.md, "Truth and transport").

Every row a registered stage should be moving must have a live lease or a job in Redis. Anything
else lost its job to a flush, a SIGKILL or a crash between commit and enqueue, and is enqueued
again. Stage jobs are idempotent, so a job enqueued twice does no harm. Apps add passes of their
own (`registry.register_repair`) for repairs only they understand.
"""

import logging
from collections import Counter
from datetime import timedelta

import django_rq
from django.utils import timezone
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from .. import registry
from ..queueing import enqueue

logger = logging.getLogger("phantoms.reconciler")
LIVE_STATUSES = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED}
# A live scheduler promotes due jobs every second. One still `scheduled` this long after its time has
# nobody to promote it: a SIGKILLed worker's scheduler keeps its lock for 61 s, and the schedulers of
# the workers that replace it only try to take the lock every 120 s.
OVERDUE_GRACE = timedelta(seconds=10)


def job_is_live(job_id: str, connection, *, lease_expired: bool = False, overdue: bool = False) -> bool:
    """Whether the job still stands for the row's next step.

    A job stays `started` in Redis after its worker is SIGKILLed (until rq's own maintenance
    notices, up to job_timeout + 10 min later). The row's lease is the truth: a started job whose
    claim has expired belongs to a worker that is gone (or overran its lease), so it is not live.
    Likewise a `scheduled` job long past its time is stranded, not waiting.
    """
    if not job_id:
        return False
    try:
        status = Job.fetch(job_id, connection=connection).get_status(refresh=False)
    except NoSuchJobError:
        return False
    if status == JobStatus.STARTED and lease_expired:
        return False
    if status == JobStatus.SCHEDULED and overdue:
        return False
    return status in LIVE_STATUSES


def _needs_job(rows, connection):
    now = timezone.now()
    for row in rows:
        if row.lease_expires_at and row.lease_expires_at > now:
            continue  # a worker holds it right now
        overdue = row.next_run_at is not None and row.next_run_at < now - OVERDUE_GRACE
        if job_is_live(row.job_id, connection, lease_expired=row.lease_expires_at is not None, overdue=overdue):
            continue
        delay = max(0.0, (row.next_run_at - now).total_seconds()) if row.next_run_at else 0.0
        yield row, delay


def reconcile() -> dict:
    """One pass: re-enqueue every row that lost its job, then run the apps' repairs. Returns counts."""
    connection = django_rq.get_connection("housekeeping")
    counts = Counter({key: 0 for key in registry.tracked_models()})
    for stage in registry.all_stages():
        key = registry.tracked_key(stage.model)
        for row, delay in _needs_job(stage.rows_to_reconcile(), connection):
            enqueue(stage, row.pk, stage.reconcile_delay(row, delay))
            counts[key] += 1
    for name, repair in registry.repairs().items():
        counts[name] = repair()
    counts = dict(counts)
    if any(counts.values()):
        logger.info("reconciler re-enqueued %s", counts)
    return counts
