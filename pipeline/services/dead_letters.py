"""Requeue and discard dead letters. Requeueing the same letter twice runs the stage once."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from phantoms.runner import enqueue_on_commit
from pipeline.models import Asset, DeadLetter
from pipeline.transitions import transit


@dataclass
class RequeueResult:
    letter: DeadLetter
    requeued: bool
    detail: str


def _actor(user) -> str:
    if getattr(user, "pk", None):
        return user.get_username()
    return str(user or "system")


def requeue(letter_id: int, *, user=None) -> RequeueResult:
    from pipeline.stages import STAGES as ASSET_STAGES
    from publishing.models import Publication
    from publishing.stages import PUBLISH
    from publishing.stages import STAGES as PUBLICATION_STAGES

    with transaction.atomic():
        letter = DeadLetter.objects.select_for_update().get(pk=letter_id)
        if letter.status != DeadLetter.Status.OPEN:
            return RequeueResult(letter, False, f"already {letter.status}")
        asset = Asset.objects.select_for_update().get(pk=letter.asset_id)
        actor = _actor(user)
        by = user if getattr(user, "pk", None) else None
        if letter.publication_id:
            publication = Publication.objects.select_for_update().get(pk=letter.publication_id)
            if letter.stage == "analytics":
                detail = _requeue_readback(letter)
            elif publication.state in (Publication.State.FAILED, Publication.State.NEEDS_ATTENTION):
                transit(publication, "retry", by=by, actor=actor, reason=f"dead letter {letter.pk} requeued")
                publication.attempts = 0
                publication.lease_owner, publication.lease_expires_at = "", None
                publication.save()
                if asset.state in (Asset.State.FAILED, Asset.State.PARTIALLY_PUBLISHED):
                    transit(asset, "start_publishing", by=by, actor=actor, reason="publication requeued")
                    asset.save()
                enqueue_on_commit(PUBLISH, publication.pk)
                detail = f"publication {publication.pk} back to pending"
            else:
                stage = PUBLICATION_STAGES.get(publication.current_stage or "")
                if stage:
                    enqueue_on_commit(stage, publication.pk)
                detail = f"publication {publication.pk} is {publication.state}; nothing to reset"
        elif asset.state == Asset.State.FAILED and asset.failed_stage == letter.stage:
            transit(asset, "resume", by=by, actor=actor, reason=f"dead letter {letter.pk} requeued")
            asset.attempts = 0
            asset.lease_owner, asset.lease_expires_at = "", None
            asset.save()
            enqueue_on_commit(ASSET_STAGES[letter.stage], asset.pk)
            detail = f"asset back to {asset.state}"
        else:
            detail = f"asset is {asset.state}; nothing to resume"
        letter.status = DeadLetter.Status.REQUEUED
        letter.requeued_at = timezone.now()
        letter.requeued_by = actor
        letter.save(update_fields=["status", "requeued_at", "requeued_by"])
    return RequeueResult(letter, True, detail)


def _requeue_readback(letter) -> str:
    from analytics.models import MetricReadback
    from analytics.stages import READBACK

    readbacks = MetricReadback.objects.filter(publication_id=letter.publication_id,
                                              state=MetricReadback.State.FAILED)
    for readback in readbacks:
        readback.state = MetricReadback.State.SCHEDULED
        readback.attempts = 0
        readback.save(update_fields=["state", "attempts"])
        enqueue_on_commit(READBACK, readback.pk)
    return f"{len(readbacks)} readback(s) rescheduled"


def discard(letter_id: int, *, user=None) -> bool:
    updated = DeadLetter.objects.filter(pk=letter_id, status=DeadLetter.Status.OPEN).update(
        status=DeadLetter.Status.DISCARDED, requeued_at=timezone.now(), requeued_by=_actor(user)
    )
    return bool(updated)


def filter_letters(qs=None, *, stage=None, queue=None, platform=None, since=None, error_class=None,
                   status=DeadLetter.Status.OPEN):
    qs = DeadLetter.objects.all() if qs is None else qs
    if status:
        qs = qs.filter(status=status)
    if stage:
        qs = qs.filter(stage=stage)
    if queue:
        qs = qs.filter(queue=queue)
    if platform:
        qs = qs.filter(platform=platform)
    if error_class:
        qs = qs.filter(error_class=error_class)
    if since:
        qs = qs.filter(last_failed_at__gte=since)
    return qs.select_related("asset", "publication").order_by("last_failed_at", "id")
