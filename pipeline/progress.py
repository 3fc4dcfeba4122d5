"""Reads for live progress (the asset page and list poll them): where an asset is and when it may be done.

What it says, all from the rows the engine keeps (docs/architecture.md, "Truth and transport"):
the current stage; the render's percentage; whether a worker holds the row, or where its job waits
(its place in the queue's list, or the time it is scheduled for); the next retry and the error that
caused it; a wait on an open breaker or a rate limit; and an ETA, from the median duration of each
remaining stage's recent successful attempts (no estimate until a stage has history). Publications
say the same per channel, scheduled ones with their time.
"""

import logging
import statistics
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from redis.exceptions import RedisError

from phantoms.engine.models import StageAttempt
from phantoms.engine.queueing import get_queue
from phantoms.engine.registry import UnknownStage, get_stage
from pipeline.models import Asset
from publishing.models import Publication

logger = logging.getLogger("phantoms.progress")

STAGE_ORDER = ["script", "voice", "visuals", "render"]
# Recent successes per stage the estimate is taken from: enough to smooth one slow run, recent enough
# to follow a change of provider.
HISTORY = 20
WAITING_OUTCOMES = {StageAttempt.Outcome.BREAKER_OPEN: "breaker open", StageAttempt.Outcome.RATE_LIMITED:
                    "rate limited", StageAttempt.Outcome.NOT_READY: "waiting for the provider"}


def typical_durations(stages) -> dict[str, float]:
    """Median seconds of the recent successful attempts of each stage (stages without history left out)."""
    typical = {}
    for stage in stages:
        recent = list(StageAttempt.objects.filter(stage=stage, outcome=StageAttempt.Outcome.SUCCEEDED,
                                                  duration_ms__isnull=False)
                      .order_by("-finished_at").values_list("duration_ms", flat=True)[:HISTORY])
        if recent:
            typical[stage] = statistics.median(recent) / 1000
    return typical


def queue_positions(jobs: list[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
    """Each (queue, job id)'s place in its queue's list, 1 for the next a worker takes; None when the job
    is not waiting there. One pipelined Redis round trip for a whole list."""
    jobs = [(queue_name, job_id) for queue_name, job_id in dict.fromkeys(jobs) if job_id]
    if not jobs:
        return {}
    try:
        connection = get_queue(jobs[0][0]).connection
        with connection.pipeline(transaction=False) as pipe:
            for queue_name, job_id in jobs:
                pipe.lpos(get_queue(queue_name).key, job_id)
            indexes = pipe.execute()
    except RedisError as exc:
        logger.warning("queue positions of %d jobs: %s", len(jobs), exc)
        return {}
    return {job: None if index is None else index + 1 for job, index in zip(jobs, indexes, strict=True)}


def _queue_of(stage_name: str) -> str | None:
    try:
        return get_stage(stage_name).queue
    except UnknownStage:
        return None


def _job(row, stage_name: str, now, positions: dict) -> dict:
    """Whether a worker holds the row, or where its job waits."""
    if row.lease_expires_at and row.lease_expires_at > now:
        return {"running": True}
    queue_name = _queue_of(stage_name)
    if queue_name is None:
        return {}
    if row.next_run_at and row.next_run_at > now + timedelta(seconds=1):
        return {"waiting_until": row.next_run_at}
    return {"queue": queue_name, "position": positions.get((queue_name, row.job_id))}


def _waiting(row, now) -> bool:
    return bool(row.next_run_at and row.next_run_at > now)


def _wait_reason(last: dict | None) -> str:
    if last and last["outcome"] in WAITING_OUTCOMES:
        return f"{WAITING_OUTCOMES[last['outcome']]}: {last['error']}"[:300]
    return ""


class _PageReads:
    """What the progress of a list of assets needs beyond their rows, each read once for the list:
    their publications, the running attempts, the last attempt of every waiting row, queue places."""

    def __init__(self, assets: list, now, typical: dict | None):
        self.now = now
        moving = [asset for asset in assets if asset.current_stage]
        self.publications: dict[int, list] = {asset.pk: [] for asset in assets}
        for publication in (Publication.objects.filter(asset__in=[asset.pk for asset in assets])
                            .select_related("channel").order_by("channel__platform", "channel_id")):
            self.publications[publication.asset_id].append(publication)
        remaining = {name for asset in moving for name in _remaining(asset.current_stage)}
        self.typical = typical if typical is not None else typical_durations(
            [name for name in STAGE_ORDER if name in remaining])
        # The newest running attempt of each moving asset's current stage.
        self.running: dict[tuple[int, str], object] = {}
        if moving:
            for row in (StageAttempt.objects.filter(asset__in=[asset.pk for asset in moving], publication__isnull=True,
                                                    outcome=StageAttempt.Outcome.RUNNING)
                        .order_by("started_at").values("asset_id", "stage", "started_at")):
                self.running[(row["asset_id"], row["stage"])] = row["started_at"]
        # The last attempt of each row that waits for its next run (why it waits).
        waiting_assets = [asset.pk for asset in moving if _waiting(asset, now)]
        waiting_publications = [publication.pk for rows in self.publications.values() for publication in rows
                                if publication.current_stage and _waiting(publication, now)]
        self.last: dict[tuple, dict] = {}
        if waiting_assets or waiting_publications:
            owners = (Q(asset__in=waiting_assets, publication__isnull=True) if waiting_assets else Q(pk__in=[]))
            if waiting_publications:
                owners |= Q(publication__in=waiting_publications)
            for row in (StageAttempt.objects.filter(owners).order_by("started_at", "id")
                        .values("asset_id", "publication_id", "stage", "outcome", "error")):
                owner = ("publication", row["publication_id"]) if row["publication_id"] else ("asset", row["asset_id"])
                self.last[(*owner, row["stage"])] = row
        jobs = []
        for asset in moving:
            jobs.append((_queue_of(asset.current_stage), asset.job_id))
        for rows in self.publications.values():
            for publication in rows:
                if publication.current_stage and publication.state != "scheduled":
                    jobs.append((_queue_of(publication.current_stage), publication.job_id))
        self.positions = queue_positions([job for job in jobs if job[0]])


def _remaining(stage: str | None) -> list[str]:
    return STAGE_ORDER[STAGE_ORDER.index(stage):] if stage in STAGE_ORDER else []


def asset_progress(asset: Asset, now=None, typical: dict | None = None) -> dict:
    return list_progress([asset], now, typical)[0]


def _progress(asset: Asset, reads: _PageReads) -> dict:
    now = reads.now
    stage = asset.current_stage
    info = {"asset": asset, "state": asset.state, "state_label": asset.get_state_display(), "stage": stage,
            "moving": False, "now": now}
    if stage:
        info["moving"] = True
        info.update(_job(asset, stage, now, reads.positions))
        if asset.state == Asset.State.RENDERING:
            info["render_percent"] = round(asset.render_progress * 100)
        if asset.attempts and asset.next_run_at and asset.next_run_at > now:
            info["retry"] = {"at": asset.next_run_at, "number": asset.attempts + 1, "error": asset.last_error[:300]}
        info["wait"] = _wait_reason(reads.last.get(("asset", asset.pk, stage))) if _waiting(asset, now) else ""
        info["eta"] = _eta(asset, stage, now, reads.typical, reads.running.get((asset.pk, stage)))
    publications = []
    for publication in reads.publications[asset.pk]:
        entry = {"publication": publication, "channel": publication.channel, "state": publication.state,
                 "scheduled_at": publication.scheduled_at if publication.state == "scheduled" else None}
        pub_stage = publication.current_stage
        if pub_stage:
            info["moving"] = True
            if publication.state != "scheduled":
                entry.update(_job(publication, pub_stage, now, reads.positions))
                entry["wait"] = (_wait_reason(reads.last.get(("publication", publication.pk, pub_stage)))
                                 if _waiting(publication, now) else "")
            if publication.attempts and publication.next_run_at and publication.next_run_at > now:
                entry["retry"] = {"at": publication.next_run_at, "number": publication.attempts + 1,
                                  "error": publication.last_error[:300]}
        publications.append(entry)
    info["publications"] = publications
    return info


def _eta(asset: Asset, stage: str, now, typical: dict, running):
    """When the asset should be ready for review, or None when a remaining stage has nothing to go by.

    The current stage goes by its own pace when it reports one (a render's percentage), else by its
    typical duration less the time its running attempt has spent; later stages by their typical one.
    """
    remaining = _remaining(stage)
    if not remaining:
        return None
    if stage == "render" and asset.render_progress > 0.02 and running:
        elapsed = (now - running).total_seconds()
        current = elapsed / asset.render_progress - elapsed  # this render's own pace
    elif stage in typical:
        current = typical[stage]
        if running:
            current = max(0.0, current - (now - running).total_seconds())
    else:
        return None
    if any(name not in typical for name in remaining[1:]):
        return None
    start = max(now, asset.next_run_at) if asset.next_run_at else now
    return start + timedelta(seconds=current + sum(typical[name] for name in remaining[1:]))


# States in which an asset's progress changes without anyone acting: what the list polls for.
MOVING_STATES = [*Asset.STAGE_FOR_STATE, Asset.State.PUBLISHING]


def list_progress(assets, now=None, typical: dict | None = None) -> list[dict]:
    """Progress of several assets (the asset list) in the same number of reads for one asset or a
    page of them: the stages' typical durations, the publications, the running and the last
    attempts, each one query; the queue places one Redis round trip."""
    assets = list(assets)
    reads = _PageReads(assets, now or timezone.now(), typical)
    return [_progress(asset, reads) for asset in assets]
