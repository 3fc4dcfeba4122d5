"""Readings through each platform's real adapter, over HTTP to the sandbox, whose posts' numbers grow
deterministically with their age (sandbox.views.platforms.public.metrics_at, which every platform's
imitation reports in its own shape)."""

import itertools
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from analytics.models import MetricReadback, MetricRollup
from analytics.stages import READBACK
from phantoms.engine.queueing import enqueue
from sandbox.models import SandboxObject, SandboxPost
from sandbox.views.platforms.public import metrics_at
from tests.analytics.conftest import due_reading, published
from tests.factories import make_channel
from tests.helpers import drain

pytestmark = pytest.mark.django_db(transaction=True)
_ids = itertools.count(10**17 + 4242)
# What each platform's metrics endpoint does not report (stored as missing, not 0).
NOT_REPORTED = {"youtube": ("impressions", "saves"),
                "tiktok": ("watch_time_seconds", "impressions", "saves"),
                "instagram": ("impressions",), "x": ("watch_time_seconds",)}


def sandbox_post(platform: str, channel, accepted):
    """A live post as the platform's imitation keeps it (X: a stored tweet owned by the user of the
    factory channel's token, "sandbox-token"; the others: the ledger)."""
    remote_id = str(next(_ids))
    if platform == "x":
        from sandbox.views.platforms.x import user_id_for

        SandboxObject.objects.create(platform="x", kind="tweet", object_id=remote_id,
                                     owner=user_id_for("sandbox-token"), data={"text": "a post"},
                                     created_at=accepted)
    else:
        SandboxPost.objects.create(platform=platform, remote_id=remote_id, status="published", accepted_at=accepted,
                                   published_at=accepted)
    return remote_id


def age_post(platform: str, remote_id: str, accepted):
    if platform == "x":
        SandboxObject.objects.filter(platform="x", object_id=remote_id).update(created_at=accepted)
    else:
        SandboxPost.objects.filter(remote_id=remote_id).update(accepted_at=accepted)


def take(reading):
    enqueue(READBACK, reading.pk)
    assert drain(lambda: MetricReadback.objects.filter(pk=reading.pk).exclude(state="scheduled").exists(),
                 timeout=20)
    reading.refresh_from_db()
    return reading


@pytest.mark.parametrize("platform", ["youtube", "tiktok", "instagram", "x"])
def test_readings_through_the_sandbox_grow_with_the_posts_age(sandbox, platform):
    channel = make_channel(platform)
    accepted = timezone.now() - timedelta(hours=2)
    remote_id = sandbox_post(platform, channel, accepted)
    publication = published(channel=channel, remote_id=remote_id)

    first = take(due_reading(publication, offset=3600))
    # Two hours later the same post has more of everything.
    age_post(platform, remote_id, accepted - timedelta(hours=2))
    second = take(due_reading(publication, offset=6 * 3600))

    assert first.state == second.state == "taken", first.raw
    low, high = metrics_at(remote_id, 2 * 3600), metrics_at(remote_id, 4 * 3600 + 60)
    assert low["views"] <= first.views <= high["views"]
    assert second.views > first.views and second.likes >= first.likes
    assert second.views >= metrics_at(remote_id, 4 * 3600)["views"]
    for name in NOT_REPORTED[platform]:
        assert getattr(first, name) is None, name
    rollup = MetricRollup.objects.filter(asset=publication.asset, channel=channel).aggregate(v=Sum("views"))
    assert rollup["v"] == second.views


def test_a_deleted_post_is_seen_as_gone_through_the_real_protocol(sandbox):
    channel = make_channel("x")
    remote_id = sandbox_post("x", channel, timezone.now() - timedelta(hours=1))
    publication = published(channel=channel, remote_id=remote_id)
    later = due_reading(publication, offset=86400, due_in=86400)
    SandboxObject.objects.filter(object_id=remote_id).delete()  # the author deleted it

    reading = take(due_reading(publication))

    assert reading.state == "gone"
    later.refresh_from_db()
    assert later.state == "skipped"
