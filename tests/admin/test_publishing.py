import pytest
from django.urls import reverse

from phantoms.engine.models import DeadLetter
from pipeline.models import Asset
from publishing.models import Channel, Publication
from tests.admin.conftest import queued, texts
from tests.admin.factories import make_asset, make_channel, make_dead_letter, make_publication

pytestmark = pytest.mark.django_db

PUBLICATIONS_URL = reverse("admin:publishing_publication_changelist")


def test_channel_token_is_a_password_field_and_kept_when_blank(admin_client):
    channel = Channel.objects.create(platform="youtube", name="Main", account_id="UC1", access_token="s3cret")
    url = reverse("admin:publishing_channel_change", args=[channel.pk])

    html = admin_client.get(url).content.decode()
    assert 'type="password" name="access_token"' in html
    assert "s3cret" not in html

    admin_client.post(url, {"platform": "youtube", "name": "Renamed", "account_id": "UC1", "access_token": "",
                            "is_active": "on"})
    channel.refresh_from_db()
    assert (channel.name, channel.access_token) == ("Renamed", "s3cret")

    admin_client.post(url, {"platform": "youtube", "name": "Renamed", "account_id": "UC1",
                            "access_token": "n3w", "is_active": "on"})
    channel.refresh_from_db()
    assert channel.access_token == "n3w"


def test_retry_without_dead_letter_uses_retry_publication(admin_client, transactional_db):
    asset = make_asset(Asset.State.PUBLISHING)
    failed = make_publication(asset, make_channel("x"), state=Publication.State.FAILED)
    live = make_publication(asset, make_channel("youtube"))

    response = admin_client.post(PUBLICATIONS_URL, {"action": "retry_selected",
                                                    "_selected_action": [failed.pk, live.pk]}, follow=True)

    failed.refresh_from_db()
    assert failed.state == Publication.State.PENDING
    assert queued("publish") == 1
    messages = texts(response)
    assert f"Publication {failed.pk}: pending again and queued." in messages
    assert f"Publication {live.pk} is pending; not retried." in messages


def test_retry_with_open_letter_requeues_it(admin_client, transactional_db):
    asset = make_asset(Asset.State.FAILED, failed_stage="publish")
    publication = make_publication(asset, make_channel("instagram"), state=Publication.State.NEEDS_ATTENTION)
    letter = make_dead_letter(asset, stage="publish", publication=publication, platform="instagram")

    admin_client.post(PUBLICATIONS_URL, {"action": "retry_selected", "_selected_action": [publication.pk]})

    publication.refresh_from_db()
    letter.refresh_from_db()
    asset.refresh_from_db()
    assert publication.state == Publication.State.PENDING
    assert letter.status == DeadLetter.Status.REQUEUED
    assert asset.state == Asset.State.PUBLISHING
    assert queued("publish") == 1


def test_publications_are_read_only(admin_client):
    publication = make_publication(make_asset(Asset.State.PUBLISHING), make_channel())
    assert admin_client.get(reverse("admin:publishing_publication_add")).status_code == 403
    html = admin_client.get(reverse("admin:publishing_publication_change", args=[publication.pk])).content.decode()
    assert 'name="_save"' not in html
