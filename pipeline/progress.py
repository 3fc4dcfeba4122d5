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

from django.utils import timezone
from redis.exceptions import RedisError

from phantoms.engine.models import StageAttempt
from phantoms.engine.queueing import get_queue
from phantoms.engine.registry import UnknownStage, get_stage
from pipeline.models import Asset

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


def queue_position(queue_name: str, job_id: str) -> int | None:
    """1 for the next job a worker takes from that queue; None when the job is not waiting in it."""
    if not job_id:
        return None
    try:
        queue = get_queue(queue_name)
        index = queue.connection.lpos(queue.key, job_id)
    except RedisError as exc:
        logger.warning("queue position of %s in %s: %s", job_id, queue_name, exc)
        return None
    return None if index is None else index + 1


def _job(row, stage_name: str, now) -> dict:
    """Whether a worker holds the row, or where its job waits."""
    if row.lease_expires_at and row.lease_expires_at > now:
        return {"running": True}
    try:
        queue_name = get_stage(stage_name).queue
    except UnknownStage:
        return {}
    if row.next_run_at and row.next_run_at > now + timedelta(seconds=1):
        return {"waiting_until": row.next_run_at}
    return {"queue": queue_name, "position": queue_position(queue_name, row.job_id)}


def _wait_reason(row, stage_name: str, now, owner: dict) -> str:
    if not (row.next_run_at and row.next_run_at > now):
        return ""
    last = (StageAttempt.objects.filter(stage=stage_name, **owner).order_by("-started_at", "-id")
            .values("outcome", "error").first())
    if last and last["outcome"] in WAITING_OUTCOMES:
        return f"{WAITING_OUTCOMES[last['outcome']]}: {last['error']}"[:300]
    return ""


def asset_progress(asset: Asset, now=None, typical: dict | None = None) -> dict:
    now = now or timezone.now()
    stage = asset.current_stage
    info = {"asset": asset, "state": asset.state, "state_label": asset.get_state_display(), "stage": stage,
            "moving": False, "now": now}
    if stage:
        info["moving"] = True
        info.update(_job(asset, stage, now))
        if asset.state == Asset.State.RENDERING:
            info["render_percent"] = round(asset.render_progress * 100)
        if asset.attempts and asset.next_run_at and asset.next_run_at > now:
            info["retry"] = {"at": asset.next_run_at, "number": asset.attempts + 1, "error": asset.last_error[:300]}
        info["wait"] = _wait_reason(asset, stage, now, {"asset": asset, "publication__isnull": True})
        info["eta"] = _eta(asset, stage, now, typical)
    publications = []
    for publication in asset.publications.select_related("channel").order_by("channel__platform", "channel_id"):
        entry = {"publication": publication, "channel": publication.channel, "state": publication.state,
                 "scheduled_at": publication.scheduled_at if publication.state == "scheduled" else None}
        pub_stage = publication.current_stage
        if pub_stage:
            info["moving"] = True
            if publication.state != "scheduled":
                entry.update(_job(publication, pub_stage, now))
                entry["wait"] = _wait_reason(publication, pub_stage, now, {"publication": publication})
            if publication.attempts and publication.next_run_at and publication.next_run_at > now:
                entry["retry"] = {"at": publication.next_run_at, "number": publication.attempts + 1,
                                  "error": publication.last_error[:300]}
        publications.append(entry)
    info["publications"] = publications
    return info


def _eta(asset: Asset, stage: str, now, typical: dict | None = None):
    """When the asset should be ready for review, or None when a remaining stage has nothing to go by.

    The current stage goes by its own pace when it reports one (a render's percentage), else by its
    typical duration less the time its running attempt has spent; later stages by their typical one.
    """
    remaining = STAGE_ORDER[STAGE_ORDER.index(stage):] if stage in STAGE_ORDER else []
    if not remaining:
        return None
    typical = typical if typical is not None else typical_durations(remaining)
    running = (StageAttempt.objects.filter(asset=asset, stage=stage, publication__isnull=True,
                                           outcome=StageAttempt.Outcome.RUNNING)
               .order_by("-started_at").values_list("started_at", flat=True).first())
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


def list_progress(assets, now=None) -> list[dict]:
    """Progress of several assets (the asset list), the stages' typical durations read once."""
    now = now or timezone.now()
    typical = typical_durations(STAGE_ORDER)
    return [asset_progress(asset, now, typical) for asset in assets]
