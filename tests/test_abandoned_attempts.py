"""An attempt whose worker was lost is closed as `abandoned`, and the admin and the API say so."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from phantoms.engine.models import StageAttempt
from phantoms.engine.services.reconciler import reconcile
from pipeline.models import Asset
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_render_whose_worker_died_shows_as_abandoned_in_the_admin_and_the_api(admin_client):
    asset = make_asset(Asset.State.RENDERING)
    Asset.objects.filter(pk=asset.pk).update(lease_owner="killed-worker",
                                             lease_expires_at=timezone.now() - timedelta(seconds=1))
    attempt = StageAttempt.objects.create(asset=asset, stage="render", number=1, provider="ffmpeg",
                                          worker="host:abc123", lease_token="killed-worker")

    assert reconcile()["abandoned"] == 1
    attempt.refresh_from_db()
    assert attempt.outcome == "abandoned" and attempt.finished_at is not None

    page = admin_client.get(reverse("admin:pipeline_asset_change", args=[asset.pk])).content.decode()
    assert "abandoned" in page and "its worker was lost" in page
    listing = admin_client.get(reverse("admin:engine_stageattempt_changelist"), {"outcome": "abandoned"})
    assert listing.status_code == 200 and "1 stage attempt" in listing.content.decode()
    running = admin_client.get(reverse("admin:engine_stageattempt_changelist"), {"outcome": "running"})
    assert "0 stage attempts" in running.content.decode()

    api = APIClient()
    api.force_login(make_user("reader", roles=["viewer"]))
    body = api.get(f"/api/assets/{asset.pk}/").json()
    assert [(a["stage"], a["outcome"]) for a in body["attempts_log"]] == [("render", "abandoned")]
    assert body["attempts_log"][0]["finished_at"] is not None
