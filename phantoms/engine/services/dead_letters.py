"""Requeue and discard dead letters. Requeueing the same letter twice runs the stage once.

What "back to work" means is the stage's own business (its handler's `requeue`): an asset resumes
the stage it failed in, a publication goes back to pending, a reading is scheduled again. This
service only locks the letter, asks the stage, and records who requeued it and when.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.services import audit

from .. import registry
from ..models import DeadLetter


@dataclass
class RequeueResult:
    letter: DeadLetter
    requeued: bool
    detail: str


def actor_name(user) -> str:
    if getattr(user, "pk", None):
        return user.get_username()
    return str(user or "system")


def requeue(letter_id: int, *, user=None) -> RequeueResult:
    with transaction.atomic():
        letter = DeadLetter.objects.select_for_update().get(pk=letter_id)
        if letter.status != DeadLetter.Status.OPEN:
            return RequeueResult(letter, False, f"already {letter.status}")
        try:
            stage = registry.get_stage(letter.stage)
        except registry.UnknownStage as exc:
            return RequeueResult(letter, False, str(exc))
        actor = actor_name(user)
        detail = stage.requeue(letter, user=user if getattr(user, "pk", None) else None, actor=actor)
        letter.status = DeadLetter.Status.REQUEUED
        letter.requeued_at = timezone.now()
        letter.requeued_by = actor
        letter.save(update_fields=["status", "requeued_at", "requeued_by"])
        _audit(AuditEvent.Action.REQUEUED, letter, user, detail)
    return RequeueResult(letter, True, detail)


def _audit(action, letter, user, detail: str):
    # A letter belongs to its asset's team (DeadLetter.team_field).
    team = DeadLetter.objects.filter(pk=letter.pk).values_list(DeadLetter.team_field, flat=True).first()
    audit.record(action, actor=user, target=letter, team=team,
                 summary=f"{letter.stage} of asset {letter.asset_id}: {detail}"[:500], stage=letter.stage)


def discard(letter_id: int, *, user=None) -> bool:
    with transaction.atomic():
        updated = DeadLetter.objects.filter(pk=letter_id, status=DeadLetter.Status.OPEN).update(
            status=DeadLetter.Status.DISCARDED, requeued_at=timezone.now(), requeued_by=actor_name(user)
        )
        if updated:
            _audit(AuditEvent.Action.DISCARDED, DeadLetter.objects.get(pk=letter_id), user, "discarded")
    return bool(updated)
