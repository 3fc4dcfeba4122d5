"""What an editor does to an asset awaiting review: approve (fan out), reject, or send it back.

The admin and the API both come here, so both enforce the same rules: the transition's own
permission (`pipeline.approve_asset`, `pipeline.reject_asset`, `pipeline.change_asset`), the
asset's team, and an audit record of who did it.
"""

from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed, has_transition_perm

from accounts import scoping
from accounts.models import AuditEvent
from accounts.services import audit
from phantoms.engine.queueing import enqueue_on_commit
from phantoms.engine.registry import get_stage
from phantoms.engine.transitions import transit
from pipeline.models import Asset
from publishing.scheduling import SLOT_OR_NOW, ScheduleError, plan
from publishing.services import fan_out, settle_asset


class ReviewError(Exception):
    pass


class NotAllowed(ReviewError):
    """The user may not make this transition (its permission, or another team's asset)."""


class InvalidSchedule(ReviewError):
    """A schedule that cannot be kept (a past time, a slot on a channel without slots): bad input."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def _check_team(asset: Asset, user):
    if user is not None and not scoping.in_team(user, asset.team_id):
        raise Asset.DoesNotExist(f"no asset {asset.pk} among your teams")


def _check_permission(asset: Asset, transition: str, user):
    # django-fsm answers for the transition out of the current state, so ask once it can proceed.
    if user is not None and not has_transition_perm(getattr(asset, transition), user):
        raise NotAllowed(f"{user} may not {transition.replace('_', ' ')} assets")


def _check(asset: Asset, transition: str, user):
    _check_team(asset, user)
    if not can_proceed(getattr(asset, transition)):
        raise ReviewError(f"asset {asset.pk} is {asset.state}, not awaiting review")
    _check_permission(asset, transition, user)


def _record_review(asset, user, notes):
    asset.reviewed_by = user if getattr(user, "pk", None) else None
    asset.reviewed_at = timezone.now()
    if notes:
        asset.review_notes = notes


# What a review changes on the asset row.
REVIEW_FIELDS = ["state", "reviewed_by", "reviewed_at", "review_notes", "updated_at"]


def approve(asset: Asset, *, user=None, notes: str = "", schedule: dict | None = None) -> Asset:
    """Approve an asset held in the caller's transaction and fan it out; the caller saves the asset.

    `schedule` maps a channel id to "now", "slot" (the channel's next free posting slot) or a time
    (publishing.scheduling.plan); channels it leaves out go out at once. The render stage calls this
    directly when auto-approval is on, so the render's outcome, the approval and the new publications
    land in one commit.
    """
    _check(asset, "approve", user)
    planned = {}
    if schedule:
        try:
            planned = plan(asset.channels.filter(is_active=True), schedule)
        except ScheduleError as exc:
            raise InvalidSchedule(exc.field, exc.problem)
    _record_review(asset, user, notes)
    transit(asset, "approve", by=user, reason=notes or "approved")
    later = [f"{p.channel} at {timezone.localtime(p.at):%Y-%m-%d %H:%M %Z}" for p in planned.values() if p.at]
    transit(asset, "start_publishing", by=user,
            reason="fan out to target channels" + (f"; scheduled: {', '.join(later)}" if later else ""))
    if not fan_out(asset, {pk: p.at for pk, p in planned.items()}):
        asset_id = asset.pk
        transaction.on_commit(lambda: settle_asset(asset_id))
    return asset


def auto_approve(asset: Asset) -> Asset:
    """PHANTOMS_AUTO_APPROVE, in the render's commit: each channel's post goes out at its next posting
    slot where the channel has slots (as "Approve and schedule…" with "next slot"), at once elsewhere."""
    channels = asset.channels.filter(is_active=True).values_list("pk", flat=True)
    return approve(asset, user=None, notes="auto-approved", schedule=dict.fromkeys(channels, SLOT_OR_NOW))


def approve_asset(asset_id: int, *, user=None, notes: str = "", schedule: dict | None = None) -> Asset:
    with transaction.atomic():
        asset = Asset.objects.select_for_update().get(pk=asset_id)
        approve(asset, user=user, notes=notes, schedule=schedule)
        asset.save(update_fields=REVIEW_FIELDS)
        audit.record(AuditEvent.Action.APPROVED, actor=user, target=asset, summary=notes[:500])
        if any(schedule.values() if schedule else ()):
            audit.record(AuditEvent.Action.SCHEDULED, actor=user, target=asset,
                         summary=_schedule_summary(asset),
                         schedule={str(k): (v.isoformat() if hasattr(v, "isoformat") else v)
                                   for k, v in schedule.items()})
    return asset


def _schedule_summary(asset) -> str:
    parts = [f"{p.channel}: {timezone.localtime(p.scheduled_at):%Y-%m-%d %H:%M %Z}" if p.scheduled_at
             else f"{p.channel}: now" for p in asset.publications.select_related("channel")]
    return "; ".join(parts)[:500]


def reject_asset(asset_id: int, *, user=None, notes: str = "", rewrite: bool = False) -> Asset:
    """Reject for good, or (rewrite=True) send back to scripting with the editor's notes."""
    transition = "send_back" if rewrite else "reject"
    if rewrite and not notes.strip():
        raise ReviewError("notes: say what the rewrite should change")
    with transaction.atomic():
        asset = Asset.objects.select_for_update().get(pk=asset_id)
        _check(asset, transition, user)
        _record_review(asset, user, notes)
        transit(asset, transition, by=user, reason=notes or "rejected")
        if rewrite:
            asset.attempts = 0
        asset.save(update_fields=[*REVIEW_FIELDS, "attempts"])
        if rewrite:
            enqueue_on_commit(get_stage("script"), asset.pk)
        audit.record(AuditEvent.Action.SENT_BACK if rewrite else AuditEvent.Action.REJECTED, actor=user,
                     target=asset, summary=notes[:500])
    return asset


def cancel_asset(asset_id: int, *, user=None, reason: str = "") -> Asset:
    with transaction.atomic():
        asset = Asset.objects.select_for_update().get(pk=asset_id)
        _check_team(asset, user)
        if not can_proceed(asset.cancel):
            raise ReviewError(f"asset {asset.pk} is {asset.state} and cannot be cancelled")
        _check_permission(asset, "cancel", user)
        transit(asset, "cancel", by=user, reason=reason or "cancelled")
        asset.save()
        audit.record(AuditEvent.Action.CANCELLED, actor=user, target=asset, summary=reason[:500])
    return asset
