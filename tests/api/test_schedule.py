"""Approving through the API at a time, or per channel (now, the next posting slot, a time)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from pipeline.models import Asset
from publishing.models import Publication
from tests.factories import make_asset, make_channel

pytestmark = pytest.mark.django_db


def test_approve_at_a_time_and_per_channel(reviewer):
    youtube, x = make_channel("youtube", posting_slots="12:00"), make_channel("x")
    asset = make_asset(Asset.State.AWAITING_REVIEW, channels=[youtube, x])
    at = (timezone.now() + timedelta(days=1)).replace(microsecond=0)

    response = reviewer.post(f"/api/assets/{asset.pk}/approve/",
                             {"publish_at": at.isoformat(), "schedule": {str(youtube.pk): "slot"}}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "publishing"
    detail = reviewer.get(f"/api/assets/{asset.pk}/").json()
    posts = {p["channel"]: p for p in detail["publications"]}
    assert posts[x.pk]["state"] == "scheduled" and posts[x.pk]["scheduled_at"].startswith(at.strftime("%Y-%m-%dT%H:%M"))
    youtube_at = Publication.objects.get(asset=asset, channel=youtube).scheduled_at
    assert (youtube_at.hour, youtube_at.minute) == (12, 0)


@pytest.mark.parametrize("body, field, words", [
    ({"publish_at": "2020-01-01T09:00:00Z"}, "schedule", "is in the past"),
    ({"publish_at": "soon"}, "publish_at", "Datetime has wrong format"),
    ({"schedule": {"abc": "now"}}, "schedule", "'abc' is not a channel id"),
    ({"schedule": {"999999": "now"}}, "schedule", "channel 999999 is not a target"),
    ({"schedule": {"CHANNEL": "tomorrow"}}, "schedule", "is not \"now\", \"slot\" or an ISO 8601 time"),
    ({"schedule": {"CHANNEL": "slot"}}, "schedule", "has no posting slots"),
])
def test_a_bad_schedule_is_a_400_naming_the_field_and_nothing_is_approved(reviewer, body, field, words):
    x = make_channel("x")
    asset = make_asset(Asset.State.AWAITING_REVIEW, channels=[x])
    if "schedule" in body:
        body = {"schedule": {(str(x.pk) if k == "CHANNEL" else k): v for k, v in body["schedule"].items()}}

    response = reviewer.post(f"/api/assets/{asset.pk}/approve/", body, format="json")

    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert field in error["fields"] and words in " ".join(error["fields"][field])
    assert Asset.objects.get(pk=asset.pk).state == Asset.State.AWAITING_REVIEW
    assert not Publication.objects.exists()
