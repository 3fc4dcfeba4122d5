"""Several assets through every stage on real queues, with real files, the sandbox over HTTP."""

import pytest

from analytics.models import MetricReadback
from pipeline.media.ffmpeg import probe
from pipeline.models import Asset
from pipeline.services.briefs import submit_brief
from pipeline.services.review import approve_asset
from publishing.models import Publication
from sandbox.services import ledger_summary
from tests.factories import make_channel
from tests.helpers import drain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

BRIEFS = [
    "Three habits that make mornings easier",
    "Why cold brew tastes smoother than hot coffee",
    "A one-minute stretch for people who sit all day",
]


def states(model, pks):
    return sorted(model.objects.filter(pk__in=pks).values_list("state", flat=True))


def test_briefs_travel_every_stage_to_published_with_metrics(sandbox):
    channels = [make_channel(p) for p in ("youtube", "tiktok", "instagram", "x")]
    assets = [submit_brief(brief=b, channels=channels, target_duration_seconds=5)[0] for b in BRIEFS]
    pks = [a.pk for a in assets]

    assert drain(lambda: states(Asset, pks) == ["awaiting_review"] * 3, timeout=240)
    for asset in Asset.objects.filter(pk__in=pks):
        audio, video = probe(asset.audio.path), probe(asset.video.path)
        assert (video.width, video.height) == (1080, 1920)
        assert video.video_codec == "h264" and video.audio_codec == "aac"
        assert abs(video.duration - audio.duration) <= 0.2
        assert asset.script["caption_lines"] and asset.video_sha256
        assert list(asset.transitions.values_list("to_state", flat=True)) == [
            "scripting", "voicing", "visualizing", "rendering", "awaiting_review"]
        assert len(asset.visuals) == len(asset.script["beats"]) and asset.cover and asset.cover_timestamp is not None
        approve_asset(asset.pk, notes="looks good")

    assert drain(lambda: states(Asset, pks) == ["published"] * 3, timeout=120)
    publications = Publication.objects.filter(asset__in=pks)
    assert publications.count() == 12
    assert set(publications.values_list("state", flat=True)) == {"published"}
    assert all(p.remote_id for p in publications)

    ledger = ledger_summary()
    assert ledger["posts"] == 12 and ledger["duplicates"] == 0

    assert drain(lambda: not MetricReadback.objects.exclude(state="taken").exists(), timeout=60)
    readbacks = MetricReadback.objects.filter(publication__in=publications)
    assert readbacks.count() == 12 * 2
    assert all(r.views is not None and r.taken_at for r in readbacks)
