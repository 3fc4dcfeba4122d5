"""Assets in any state, reached through the real transitions (the state field is protected)."""

import itertools
import uuid

from django.utils import timezone

from phantoms.engine.models import DeadLetter
from phantoms.engine.transitions import transit
from pipeline.models import Asset
from pipeline.script_format import compose_template_script
from publishing.models import Channel, Publication
from tests import factories as shared
from tests.factories import ASSET_PATH

PATHS = ASSET_PATH
FAIL_PATHS = {"script": PATHS[Asset.State.SCRIPTING], "voice": PATHS[Asset.State.VOICING],
              "visuals": PATHS[Asset.State.VISUALIZING], "render": PATHS[Asset.State.RENDERING],
              "publish": PATHS[Asset.State.PUBLISHING]}
_numbers = itertools.count(1)


def make_channel(platform="youtube", name=None) -> Channel:
    return shared.make_channel(platform, **({"name": name} if name else {}))


def make_asset(state=Asset.State.AWAITING_REVIEW, *, channels=(), failed_stage="", with_media=True,
               **fields) -> Asset:
    brief = fields.pop("brief", "Why octopuses have three hearts")
    asset = Asset.objects.create(brief=brief, title=fields.pop("title", "Three hearts"), **fields)
    asset.channels.set(channels)
    if with_media:
        asset.script = compose_template_script(brief, title=asset.title).model_dump()
        asset.video.name = f"assets/{asset.pk}/video.mp4"
        asset.audio.name = f"assets/{asset.pk}/voice.mp3"
    names = FAIL_PATHS[failed_stage] + ["fail"] if state == Asset.State.FAILED else PATHS[state]
    for name in names:
        transit(asset, name, reason="test setup")
    asset.failed_stage = failed_stage
    asset.save()
    return asset


def make_dead_letter(asset, *, stage="script", publication=None, **fields) -> DeadLetter:
    now = timezone.now()
    defaults = {"queue": stage if stage != "poll" else "publish", "error_class": "TransientError",
                "error_message": "the provider timed out\nafter 3.0 s",
                "traceback": "Traceback (most recent call last):\n  boom", "attempts": 4,
                "first_failed_at": now, "last_failed_at": now, "job_id": uuid.uuid4().hex}
    defaults.update(fields)
    return DeadLetter.objects.create(asset=asset, publication=publication, stage=stage, **defaults)


def make_publication(asset, channel, *, state=Publication.State.PENDING) -> Publication:
    publication = Publication.objects.create(asset=asset, channel=channel)
    if state == Publication.State.FAILED:
        transit(publication, "fail", reason="test setup")
    elif state == Publication.State.NEEDS_ATTENTION:
        transit(publication, "needs_attention", reason="test setup")
    publication.save()
    return publication


def make_staff(username="editor", perms=(), *, roles=(), teams=None):
    """A staff user with these permissions and roles, a member of `teams` (by default the default team)."""
    return shared.make_user(username, perms, roles=roles, teams=teams, is_staff=True)
