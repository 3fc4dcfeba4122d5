"""A needs_attention publication: its evidence in the admin, and the two buttons a person decides with."""

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from phantoms.engine.models import DeadLetter
from pipeline.models import Asset
from publishing.models import Publication
from tests.admin.conftest import queued
from tests.admin.factories import make_asset, make_channel, make_dead_letter, make_publication

pytestmark = pytest.mark.django_db(transaction=True)


def parked():
    asset = make_asset(Asset.State.FAILED, failed_stage="publish")
    publication = make_publication(asset, make_channel("youtube"), state=Publication.State.NEEDS_ATTENTION)
    Publication.objects.filter(pk=publication.pk).update(
        handles={"session_uri": "https://www.googleapis.com/upload/youtube/v3/videos?upload_id=abc"},
        evidence=[{"asked": "PUT session with Content-Range: bytes */700", "answer": "HTTP 503 (no answer)"}])
    letter = make_dead_letter(asset, stage="publish", publication=publication, platform="youtube",
                              error_class="needs_attention")
    return publication, letter


def test_the_page_shows_the_evidence_and_both_buttons(admin_client):
    publication, _ = parked()
    change = admin_client.get(reverse("admin:publishing_publication_change", args=[publication.pk])).content.decode()
    assert "bytes */700" in change and "session_uri" in change
    page = admin_client.get(reverse("admin:publishing_publication_decide", args=[publication.pk])).content.decode()
    assert "HTTP 503 (no answer)" in page
    assert 'value="It is published, here is the URL"' in page and 'value="Publish again"' in page


def test_it_is_published_records_the_url_and_settles_the_asset(admin_client):
    publication, letter = parked()
    url = reverse("admin:publishing_publication_decide", args=[publication.pk])

    bad = admin_client.post(url, {"confirm": "1", "url": "not a url"})
    assert "url: give the post&#x27;s https:// address on the platform" in bad.content.decode()
    admin_client.post(url, {"confirm": "1", "url": "https://www.youtube.com/shorts/AbCdEfGhIjK"})

    publication.refresh_from_db()
    letter.refresh_from_db()
    assert publication.state == Publication.State.PUBLISHED
    assert (publication.remote_url, publication.remote_id) == ("https://www.youtube.com/shorts/AbCdEfGhIjK",
                                                               "AbCdEfGhIjK")
    assert letter.status == DeadLetter.Status.DISCARDED
    assert publication.evidence[-1]["answer"] == "published at https://www.youtube.com/shorts/AbCdEfGhIjK"
    assert Asset.objects.get(pk=publication.asset_id).state == Asset.State.FAILED  # settled only from publishing
    [event] = AuditEvent.objects.filter(action=AuditEvent.Action.CONFIRMED_PUBLISHED)
    assert (event.actor_name, event.target_id) == ("admin", str(publication.pk))
    assert event.summary == "confirmed published at https://www.youtube.com/shorts/AbCdEfGhIjK"


def test_publish_again_forgets_the_handles_and_queues_the_upload(admin_client):
    publication, letter = parked()
    admin_client.post(reverse("admin:publishing_publication_decide", args=[publication.pk]), {"again": "1"})

    publication.refresh_from_db()
    letter.refresh_from_db()
    assert publication.state == Publication.State.PENDING
    assert publication.handles == {}
    assert "no post found; publish again (forgot session_uri)" in publication.evidence[-1]["answer"]
    assert letter.status == DeadLetter.Status.REQUEUED
    assert queued("publish") == 1
    [event] = AuditEvent.objects.filter(action=AuditEvent.Action.PUBLICATION_RETRIED)
    assert event.target_id == str(publication.pk)


def test_only_a_needs_attention_publication_is_decided(admin_client):
    publication = make_publication(make_asset(Asset.State.PUBLISHING), make_channel("tiktok"))
    page = admin_client.post(reverse("admin:publishing_publication_decide", args=[publication.pk]), {"again": "1"})
    assert "only a needs_attention publication is decided by a person" in page.content.decode()
    publication.refresh_from_db()
    assert publication.state == Publication.State.PENDING
