"""What an editor does to an asset awaiting review: approve (fan out), reject, or send it back."""

from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed, has_transition_perm

from phantoms.engine.queueing import enqueue_on_commit
from phantoms.engine.registry import get_stage
from phantoms.engine.transitions import transit
from pipeline.models import Asset
from publishing.services import fan_out, settle_asset


class ReviewError(Exception):
    pass


def _check(asset: Asset, transition: str, user):
    method = getattr(asset, transition)
    if not can_proceed(method):
        raise ReviewError(f"asset {asset.pk} is {asset.state}, not awaiting review")
    if user is not None and not has_transition_perm(method, user):
        raise ReviewError(f"{user} may not {transition.replace('_', ' ')} assets")


def _record_review(asset, user, notes):
    asset.reviewed_by = user if getattr(user, "pk", None) else None
    asset.reviewed_at = timezone.now()
    if notes:
        asset.review_notes = notes


# What a review changes on the asset row.
REVIEW_FIELDS = ["state", "reviewed_by", "reviewed_at", "review_notes", "updated_at"]


def approve(asset: Asset, *, user=None, notes: str = "") -> Asset:
    """Approve an asset held in the caller's transaction and fan it out; the caller saves the asset.

    The render stage calls this directly when auto-approval is on, so the render's outcome, the
    approval and the new publications land in one commit.
    """
    _check(asset, "approve", user)
    _record_review(asset, user, notes)
    transit(asset, "approve", by=user, reason=notes or "approved")
    transit(asset, "start_publishing", by=user, reason="fan out to target channels")
    if not fan_out(asset):
        asset_id = asset.pk
        transaction.on_commit(lambda: settle_asset(asset_id))
    return asset


def approve_asset(asset_id: int, *, user=None, notes: str = "") -> Asset:
    with transaction.atomic():
        asset = Asset.objects.select_for_update().get(pk=asset_id)
        approve(asset, user=user, notes=notes)
        asset.save(update_fields=REVIEW_FIELDS)
    return asset


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
    return asset


def cancel_asset(asset_id: int, *, user=None, reason: str = "") -> Asset:
    with transaction.atomic():
        asset = Asset.objects.select_for_update().get(pk=asset_id)
        if not can_proceed(asset.cancel):
            raise ReviewError(f"asset {asset.pk} is {asset.state} and cannot be cancelled")
        transit(asset, "cancel", by=user, reason=reason or "cancelled")
        asset.save()
    return asset
