"""Build rows in any state through the real transitions (the state field is protected)."""

import itertools

from phantoms.engine.transitions import transit
from pipeline.models import Asset
from publishing.models import Channel, Publication

_ids = itertools.count(1)

ASSET_PATH = {
    Asset.State.DRAFT: [],
    Asset.State.SCRIPTING: ["submit"],
    Asset.State.VOICING: ["submit", "script_done"],
    Asset.State.VISUALIZING: ["submit", "script_done", "voice_done"],
    Asset.State.RENDERING: ["submit", "script_done", "voice_done", "visuals_done"],
    Asset.State.AWAITING_REVIEW: ["submit", "script_done", "voice_done", "visuals_done", "render_done"],
    Asset.State.PUBLISHING: ["submit", "script_done", "voice_done", "visuals_done", "render_done", "approve",
                             "start_publishing"],
    Asset.State.CANCELLED: ["submit", "cancel"],
}


def make_channel(platform: str = "youtube", **kwargs) -> Channel:
    """A channel connected with `access_token` (a token that never expires), or not at all when it is ""."""
    from connections.models import Connection
    from phantoms.encryption import Secret

    n = next(_ids)
    token = kwargs.pop("access_token", "sandbox-token")
    channel = Channel.objects.create(platform=platform, name=kwargs.pop("name", f"{platform} {n}"),
                                     account_id=kwargs.pop("account_id", f"acct-{platform}-{n}"), **kwargs)
    if token:
        Connection.objects.create(channel=channel, access_token=Secret(token))
    return channel


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


# --- Added for the API, reconciler, command and transition tests.

def advance(obj, *names: str, actor: str = "factory"):
    """Apply transitions through `transit` and save (any model with a protected state field)."""
    for name in names:
        transit(obj, name, actor=actor)
    obj.save()
    return obj


PUBLICATION_PATH = {
    Publication.State.PENDING: [],
    Publication.State.UPLOADING: ["begin_upload"],
    Publication.State.PROCESSING: ["begin_upload", "uploaded"],
    Publication.State.PUBLISHED: ["begin_upload", "uploaded", "went_live"],
    Publication.State.FAILED: ["begin_upload", "fail"],
    Publication.State.NEEDS_ATTENTION: ["begin_upload", "needs_attention"],
}


def make_publishing_asset(*, channels=(), **kwargs) -> Asset:
    """An approved asset on its way out (state `publishing`), without publications."""
    asset = make_asset(Asset.State.AWAITING_REVIEW, channels=channels, **kwargs)
    return advance(asset, "approve", "start_publishing")


def make_failed_asset(stage: str = "script", **kwargs) -> Asset:
    """An asset dead-lettered in `stage` (script, voice, visuals, render or publish)."""
    if stage == "publish":
        asset = make_publishing_asset(**kwargs)
    else:
        state = {"script": Asset.State.SCRIPTING, "voice": Asset.State.VOICING,
                 "visuals": Asset.State.VISUALIZING, "render": Asset.State.RENDERING}[stage]
        asset = make_asset(state, **kwargs)
    asset.failed_stage = stage
    return advance(asset, "fail")


def make_publication_in(asset: Asset, channel: Channel, state: str = Publication.State.PENDING) -> Publication:
    publication = make_publication(asset, channel)
    if state == Publication.State.FAILED or state == Publication.State.NEEDS_ATTENTION:
        publication.failed_stage = "publish"
    return advance(publication, *PUBLICATION_PATH[state])


def make_letter(asset: Asset, *, stage: str = "script", publication: Publication | None = None, **fields):
    """An open dead letter for `asset` (and `publication`), failed now unless told otherwise."""
    from django.utils import timezone

    from phantoms.engine.models import DeadLetter

    now = timezone.now()
    fields.setdefault("queue", "publish" if stage == "poll" else stage)
    fields.setdefault("platform", publication.channel.platform if publication else "")
    fields.setdefault("error_class", "transient")
    fields.setdefault("error_message", f"{stage} provider timed out")
    fields.setdefault("attempts", 3)
    fields.setdefault("first_failed_at", fields.get("last_failed_at", now))
    fields.setdefault("last_failed_at", now)
    return DeadLetter.objects.create(asset=asset, publication=publication, stage=stage, **fields)


def make_user(username: str | None = None, perms=(), *, roles=(), teams=None, **kwargs):
    """A user holding the given "app_label.codename" permissions and roles, a member of `teams`
    (by default the default team, where factory-made rows land)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission

    from accounts.models import Team
    from accounts.teams import default_team_pk

    user = get_user_model().objects.create_user(username=username or f"user{next(_ids)}", password="pw", **kwargs)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    for team in (teams if teams is not None else [Team.objects.get(pk=default_team_pk())]):
        team.members.add(user)
    return user


def make_team(name: str | None = None):
    from accounts.models import Team

    return Team.objects.create(name=name or f"team {next(_ids)}")
