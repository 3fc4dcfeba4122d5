"""Build rows in any state through the real transitions (the state field is protected)."""

import itertools

from pipeline.models import Asset
from pipeline.transitions import transit
from publishing.models import Channel, Publication

_ids = itertools.count(1)

ASSET_PATH = {
    Asset.State.DRAFT: [],
    Asset.State.SCRIPTING: ["submit"],
    Asset.State.VOICING: ["submit", "script_done"],
    Asset.State.RENDERING: ["submit", "script_done", "voice_done"],
    Asset.State.AWAITING_REVIEW: ["submit", "script_done", "voice_done", "render_done"],
}


def make_channel(platform: str = "youtube", **kwargs) -> Channel:
    n = next(_ids)
    return Channel.objects.create(platform=platform, name=kwargs.pop("name", f"{platform} {n}"),
                                  account_id=kwargs.pop("account_id", f"acct-{platform}-{n}"),
                                  access_token="sandbox-token", **kwargs)


def make_asset(state: str = Asset.State.DRAFT, *, channels=(), brief: str = "Three tips for better sleep",
               **kwargs) -> Asset:
    kwargs.setdefault("target_duration_seconds", 6)
    asset = Asset.objects.create(brief=brief, **kwargs)
    if channels:
        asset.channels.set(channels)
    for name in ASSET_PATH[state]:
        transit(asset, name, actor="factory")
    asset.save()
    return asset


def make_publication(asset: Asset, channel: Channel) -> Publication:
    return Publication.objects.create(asset=asset, channel=channel)
