"""An editor changing an asset before approval: only what may still change, recorded in the audit trail."""

from django.db import transaction

from accounts import scoping
from accounts.models import AuditEvent
from accounts.services import audit
from pipeline.models import Asset
from pipeline.selectors import editable_fields


class EditError(ValueError):
    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def edit_asset(asset_id: int, *, changes: dict, user=None) -> Asset:
    """Apply `changes` ({field: value}; `channels` is a list of channels) to an asset still editable."""
    with transaction.atomic():
        asset = Asset.objects.select_for_update().get(pk=asset_id)
        if user is not None:
            if not scoping.in_team(user, asset.team_id):
                raise Asset.DoesNotExist(f"no asset {asset_id} among your teams")
            if not user.has_perm("pipeline.change_asset"):
                raise EditError("asset", "you may not edit assets")
        allowed = editable_fields(asset)
        for name in changes:
            if name not in allowed:
                raise EditError(name, f"cannot change once the asset is {asset.state}")
        channels = changes.pop("channels", None)
        if channels is not None:
            foreign = sorted(channel.pk for channel in channels if channel.team_id != asset.team_id)
            if foreign:
                raise EditError("channels", f"channels {foreign} belong to another team")
            asset.channels.set(channels)
        for name, value in changes.items():
            setattr(asset, name, value)
        if changes:
            asset.save(update_fields=[*changes, "updated_at"])
        changed = sorted([*changes, *(["channels"] if channels is not None else [])])
        if changed:
            audit.record(AuditEvent.Action.EDITED, actor=user, target=asset, summary=f"changed {', '.join(changed)}",
                         fields=changed)
    return asset
