from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import MetricReadback
from publishing.models import Publication
from tests.factories import advance, make_channel, make_publishing_asset


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.RATE_LIMITS = {}
    settings.BACKOFF_BASE = 0.01
    settings.BACKOFF_CAP = 0.02


def published(asset=None, channel=None, *, remote_id=None, published_at=None):
    """A live publication (readings not scheduled: tests schedule what they need)."""
    channel = channel or make_channel()
    asset = asset or make_publishing_asset(channels=[channel])
    publication = Publication.objects.create(asset=asset, channel=channel)
    advance(publication, "begin_upload", "uploaded")
    publication.remote_id = remote_id or f"post-{publication.pk}"
    publication.published_at = published_at or timezone.now()
    advance(publication, "went_live")
    return publication


def due_reading(publication, offset=3600, *, due_in=-1):
    return MetricReadback.objects.create(publication=publication, offset_seconds=offset,
                                         due_at=timezone.now() + timedelta(seconds=due_in))
