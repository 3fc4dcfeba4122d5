"""Reads about channels and publications, narrowed to what the asking user may see; what each platform receives."""

from django.db.models import DateTimeField
from django.db.models.functions import Coalesce

from accounts import scoping
from publishing.models import Channel, Publication
from publishing.platform_limits import limits_for


def channels_for(user, *, active_only: bool = False):
    channels = scoping.visible(Channel.objects.all(), user)
    return channels.filter(is_active=True) if active_only else channels


def publications_for(user):
    """Publications of the user's teams; an integration that may not read them sees those of its own assets."""
    publications = scoping.visible(Publication.objects.all(), user)
    if not user.has_perm("publishing.view_publication"):
        publications = (publications.filter(asset__created_by=user) if user.has_perm("pipeline.add_asset")
                        else publications.none())
    return publications


def _fallback(asset, platform: str) -> tuple[str, str, list[str]]:
    """What a platform receives from the script alone (what the platform clients sent before overrides)."""
    limits = limits_for(platform)
    script = asset.script or {}
    title = asset.title or script.get("title", "")
    caption = title if limits.title_in_caption else script.get("description", "")
    hashtags = list(script.get("hashtags") or [])
    if limits.default_hashtags is not None:
        hashtags = hashtags[:limits.default_hashtags]
    return title, caption, hashtags


def with_override(asset, platform: str, title: str, caption: str, hashtags: list[str]) -> tuple[str, str, list[str]]:
    """(title, caption, hashtags) with the editor's PlatformCopy for `platform` laid over them, where there is one:
    what the preview shows and what every platform adapter sends."""
    override = next((copy for copy in asset.platform_copies.all() if copy.platform == platform), None) \
        if asset.pk else None
    if override is None:
        return title, caption, hashtags
    return (override.title or title, override.caption or caption,
            list(override.hashtags) if override.hashtags is not None else hashtags)


def platform_copy(asset, platform: str) -> tuple[str, str, list[str]]:
    """(title, caption, hashtags) as `platform` receives them for `asset`: the editor's override for
    that platform where there is one (PlatformCopy), the script otherwise.

    The caption excludes the hashtags; `publishing.platform_limits.compose` joins them as the
    platform expects. Platforms without a title field (TikTok, Instagram, X) still get the title
    here, for adapters that log or label with it.
    """
    return with_override(asset, platform, *_fallback(asset, platform))


def script_copy(asset, platform: str) -> tuple[str, str, list[str]]:
    """What `platform` would receive with no override (the form says what an override changes)."""
    return _fallback(asset, platform)


def calendar_posts(user, start, end):
    """The user's posts placed on a calendar between `start` and `end` (aware datetimes), by their time.

    A post's time is when it went out if it has, else when it is scheduled for, else when it was
    approved (created): what an editor means by "when is that post".
    """
    posts = (publications_for(user).select_related("asset", "channel")
             .annotate(calendar_at=Coalesce("published_at", "scheduled_at", "created_at",
                                            output_field=DateTimeField()))
             .filter(calendar_at__gte=start, calendar_at__lt=end)
             .order_by("calendar_at", "pk"))
    return posts
