"""Reads about assets for the admin and the API: what an editor may still change, what may go."""

from pipeline.models import Asset

# Before approval an editor may still retarget or retitle an asset; afterwards the publications exist.
EDITABLE_STATES = {Asset.State.DRAFT, Asset.State.SCRIPTING, Asset.State.VOICING, Asset.State.RENDERING,
                   Asset.State.AWAITING_REVIEW}
EDITABLE_FIELDS = ("title", "channels")
# Deleting an asset a worker may be holding would leave its jobs pointing at nothing: cancel instead.
DELETABLE_STATES = {Asset.State.DRAFT, Asset.State.PUBLISHED, Asset.State.PARTIALLY_PUBLISHED,
                    Asset.State.REJECTED, Asset.State.CANCELLED}


def editable_fields(asset: Asset) -> tuple[str, ...]:
    return EDITABLE_FIELDS if asset.state in EDITABLE_STATES else ()


def may_delete(asset: Asset) -> bool:
    return asset.state in DELETABLE_STATES


def awaiting_review():
    """Assets an editor should look at, the longest-waiting first."""
    return Asset.objects.filter(state=Asset.State.AWAITING_REVIEW).order_by("updated_at", "id")
