"""An editor's per-platform title, caption and hashtags for an asset (publishing.models.PlatformCopy).

Only what differs from the script is stored, so a later script edit still reaches every platform the
editor did not override. Copy a platform would refuse (over its limits, publishing.platform_limits)
is refused here with the field and the limit, never cut silently.
"""

import re

from django.db import transaction

from accounts import scoping
from accounts.models import AuditEvent
from accounts.services import audit
from pipeline.models import Asset
from pipeline.selectors import EDITABLE_STATES
from pipeline.services.edits import EditError
from publishing.models import PlatformCopy
from publishing.platform_limits import limits_for, problems
from publishing.selectors import script_copy


def parse_hashtags(text: str) -> list[str]:
    """"sea #octopus, hearts" → ["#sea", "#octopus", "#hearts"] (the script's own rule for a hashtag)."""
    tags = []
    for word in re.split(r"[\s,]+", text or ""):
        tag = "#" + re.sub(r"[^\w]", "", word.lstrip("#"))
        if len(tag) > 1 and tag not in tags:
            tags.append(tag)
    return tags


def save_platform_copy(asset_id: int, platform: str, *, title: str, caption: str, hashtags: list[str],
                       user=None) -> PlatformCopy | None:
    """Store what `platform` receives for the asset where it differs from the script; None when nothing does."""
    try:
        limits = limits_for(platform)
    except KeyError:
        raise EditError("platform", f"unknown platform {platform!r}")
    title, caption = (title or "").strip(), (caption or "").strip()
    with transaction.atomic():
        asset = Asset.objects.select_for_update().get(pk=asset_id)
        if user is not None:
            if not scoping.in_team(user, asset.team_id):
                raise Asset.DoesNotExist(f"no asset {asset_id} among your teams")
            if not user.has_perm("pipeline.change_asset"):
                raise EditError("asset", "you may not edit assets")
        if asset.state not in EDITABLE_STATES:
            raise EditError(platform, f"cannot change once the asset is {asset.state}")
        found = problems(platform, title, caption, hashtags)
        if found:
            field, problem = next(iter(found.items()))
            raise EditError(f"{platform}.{field}", problem)
        base_title, base_caption, base_tags = script_copy(asset, platform)
        values = {"title": "" if title == base_title or limits.title is None else title,
                  "caption": "" if caption == base_caption else caption,
                  "hashtags": None if hashtags == base_tags else hashtags}
        existing = PlatformCopy.objects.filter(asset=asset, platform=platform).first()
        before = ({"title": existing.title, "caption": existing.caption, "hashtags": existing.hashtags}
                  if existing else {"title": "", "caption": "", "hashtags": None})
        changed = sorted(name for name in values if values[name] != before[name])
        if not changed:
            return existing
        if values == {"title": "", "caption": "", "hashtags": None}:
            existing.delete()
            copy = None
        else:
            copy, _ = PlatformCopy.objects.update_or_create(
                asset=asset, platform=platform,
                defaults={**values, "updated_by": user if getattr(user, "pk", None) else None})
        audit.record(AuditEvent.Action.EDITED, actor=user, target=asset,
                     summary=f"{limits.label}: changed {', '.join(changed)}",
                     fields=[f"{platform}.{name}" for name in changed])
    return copy
