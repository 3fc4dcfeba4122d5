"""Rebuild missing jobs from the database (DESIGN principle 1).

Every row that should be moving (an asset in a working state, a publication not yet settled, a
reading that is due) must have a live lease or a job in Redis. Anything else lost its job to a
flush, a SIGKILL or a crash between commit and enqueue, and is enqueued again. Stage jobs are
idempotent, so a job enqueued twice does no harm.
"""

import logging
from datetime import timedelta

import django_rq
from django.db.models import Q
from django.utils import timezone
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from analytics.models import MetricReadback
from analytics.stages import READBACK
from phantoms.runner import enqueue
from pipeline.models import Asset
from pipeline.stages import STAGES as ASSET_STAGES
from publishing.models import Publication
from publishing.stages import STAGES as PUBLICATION_STAGES

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
    connection = django_rq.get_connection("housekeeping")
    counts = {"assets": 0, "publications": 0, "readbacks": 0, "settled": 0}
    assets = Asset.objects.filter(state__in=list(Asset.STAGE_FOR_STATE))
    for asset, delay in _needs_job(assets, connection):
        enqueue(ASSET_STAGES[Asset.STAGE_FOR_STATE[asset.state]], asset.pk, delay)
        counts["assets"] += 1
    publications = Publication.objects.filter(state__in=list(Publication.STAGE_FOR_STATE))
    for publication, delay in _needs_job(publications, connection):
        enqueue(PUBLICATION_STAGES[Publication.STAGE_FOR_STATE[publication.state]], publication.pk, delay)
        counts["publications"] += 1
    soon = timezone.now() + timedelta(minutes=5)
    readbacks = MetricReadback.objects.filter(state=MetricReadback.State.SCHEDULED, due_at__lte=soon)
    for readback, deferred in _needs_job(readbacks, connection):
        # Due at due_at, or later if a breaker or rate limit deferred it.
        delay = max(deferred, (readback.due_at - timezone.now()).total_seconds(), 0.0)
        enqueue(READBACK, readback.pk, delay)
        counts["readbacks"] += 1
    counts["settled"] = _settle_stuck_assets()
    if any(counts.values()):
        logger.info("reconciler re-enqueued %s", counts)
    return counts


def _settle_stuck_assets() -> int:
    """Assets still `publishing` whose publications all finished (a crash between the two commits)."""
    from publishing.services import settle_asset

    stuck = Asset.objects.filter(state=Asset.State.PUBLISHING).exclude(
        Q(publications__state__in=list(Publication.STAGE_FOR_STATE))
    )
    settled = 0
    for asset_id in stuck.values_list("pk", flat=True).distinct():
        if settle_asset(asset_id) != Asset.State.PUBLISHING:
            settled += 1
    return settled
