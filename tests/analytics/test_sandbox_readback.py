"""Readings through each platform's real adapter, over HTTP to the sandbox, whose posts' numbers grow
deterministically with their age (sandbox.views.platforms.public.metrics_at)."""

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from analytics.models import MetricReadback, MetricRollup
from analytics.stages import READBACK
from phantoms.engine.queueing import enqueue
from sandbox.models import SandboxPost
from sandbox.views.platforms.public import metrics_at
from tests.analytics.conftest import due_reading, published
from tests.factories import make_channel
from tests.helpers import drain

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("platform", ["youtube", "tiktok", "instagram", "x"])
def test_readings_through_the_sandbox_grow_with_the_posts_age(sandbox, platform):
    channel = make_channel(platform)
    publication = published(channel=channel, remote_id=f"{platform}-metrics-1")
    accepted = timezone.now() - timedelta(hours=2)
    SandboxPost.objects.create(platform=platform, remote_id=publication.remote_id, status="published",
                               accepted_at=accepted, published_at=accepted)

    first = due_reading(publication, offset=3600)
    enqueue(READBACK, first.pk)
    assert drain(lambda: MetricReadback.objects.filter(pk=first.pk, state="taken").exists(), timeout=20)
    # Two hours later the same post has more of everything.
    SandboxPost.objects.filter(remote_id=publication.remote_id).update(accepted_at=accepted - timedelta(hours=2))
    second = due_reading(publication, offset=6 * 3600)
    enqueue(READBACK, second.pk)
    assert drain(lambda: MetricReadback.objects.filter(pk=second.pk, state="taken").exists(), timeout=20)

    first.refresh_from_db()
    second.refresh_from_db()
    low, high = metrics_at(publication.remote_id, 2 * 3600), metrics_at(publication.remote_id, 4 * 3600 + 60)
    assert low["views"] <= first.views <= high["views"]
    assert second.views > first.views and second.likes >= first.likes
    assert second.views >= metrics_at(publication.remote_id, 4 * 3600)["views"]
    # What the platform does not report is missing, not zero (YouTube's Analytics API reports watch time).
    assert (first.watch_time_seconds is not None) == (platform == "youtube") and first.impressions is None
    rollup = MetricRollup.objects.filter(asset=publication.asset, channel=channel).aggregate(v=Sum("views"))
    assert rollup["v"] == second.views
