"""What the chaos tests share: channels on every platform, fast briefs, waiting on the database."""

from pipeline.models import Asset
from pipeline.services.briefs import submit_brief
from pipeline.services.review import approve_asset
from publishing import platforms
from publishing.models import Publication
from tests.factories import make_channel
from tests.helpers import drain

PLATFORMS = tuple(platforms.names())
# Publishing is the stage under test: silence and a copied one-second MP4 keep the earlier stages cheap.
FAST = {"voice": "silence", "render": "instant"}


def platform_channels() -> dict:
    return {platform: make_channel(platform) for platform in PLATFORMS}


def submit(count: int, channels_for, *, providers=None, prefix="Chaos brief", seconds: int = 5) -> list[int]:
    """Submit `count` short briefs; `channels_for(i)` lists the channels of the i-th."""
    return [
        submit_brief(brief=f"{prefix} number {i}", channels=channels_for(i), target_duration_seconds=seconds,
                     providers=dict(FAST if providers is None else providers))[0].pk
        for i in range(count)
    ]


def states(model, **filters) -> dict:
    counts: dict = {}
    for state in model.objects.filter(**filters).values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    return counts


def all_in(model, pks, state) -> bool:
    return not model.objects.filter(pk__in=pks).exclude(state=state).exists()


def review_all(pks, timeout: float = 120.0):
    """Drain in-process until every asset awaits review, then approve each."""
    assert drain(lambda: all_in(Asset, pks, Asset.State.AWAITING_REVIEW), timeout=timeout), states(Asset, pk__in=pks)
    for pk in pks:
        approve_asset(pk, notes="chaos")
    return list(Publication.objects.filter(asset__in=pks).values_list("pk", flat=True))

