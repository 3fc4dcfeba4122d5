import pytest
from django.urls import reverse

from phantoms.engine.models import DeadLetter
from pipeline.models import Asset
from publishing.models import Publication
from tests.admin.conftest import queued, texts
from tests.admin.factories import make_asset, make_channel, make_dead_letter, make_publication

pytestmark = pytest.mark.django_db

PUBLICATIONS_URL = reverse("admin:publishing_publication_changelist")


def test_a_channel_page_has_no_token_field_and_shows_the_connection(admin_client):
    from tests.factories import make_channel as connected_channel

    channel = connected_channel("youtube", name="Main", account_id="UC1", access_token="s3cret")
    url = reverse("admin:publishing_channel_change", args=[channel.pk])

    html = admin_client.get(url).content.decode()
    assert 'name="access_token"' not in html and "s3cret" not in html
    listing = admin_client.get(reverse("admin:publishing_channel_changelist")).content.decode()
    assert "Connected" in listing and "s3cret" not in listing

    # Editing the channel leaves its connection (and token) alone.
    admin_client.post(url, {"platform": "youtube", "name": "Renamed", "account_id": "UC1", "is_active": "on"})
    channel.refresh_from_db()
    assert channel.name == "Renamed" and channel.connection.access_token.reveal() == "s3cret"


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
