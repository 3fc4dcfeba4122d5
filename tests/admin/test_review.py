import pytest
from django.urls import reverse
from django.utils.html import escape

from phantoms.engine.models import TransitionLog
from pipeline.models import Asset
from publishing.models import Publication
from tests.admin.conftest import queued, texts
from tests.admin.factories import make_asset, make_channel

pytestmark = pytest.mark.django_db

REVIEW_URL = reverse("admin:pipeline_asset_review")
CHANGELIST_URL = reverse("admin:pipeline_asset_changelist")


def transition_url(asset, name):
    return reverse("admin:pipeline_asset_transition", args=[asset.pk, name])


def change_url(asset):
    return reverse("admin:pipeline_asset_change", args=[asset.pk])


def test_review_queue_shows_player_script_and_buttons(admin_client):
    waiting = make_asset(title="Octopus hearts")
    elsewhere = make_asset(Asset.State.RENDERING, title="Still rendering")

    response = admin_client.get(REVIEW_URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert f'<video controls preload="metadata" src="/media/assets/{waiting.pk}/video.mp4"' in html
    assert escape(waiting.script["hook"]) in html
    assert waiting.script["beats"][0]["narration"] in html
    assert transition_url(waiting, "approve") in html
    assert transition_url(waiting, "send_back") in html
    assert "Octopus hearts" in html and "Still rendering" not in html
    assert transition_url(elsewhere, "approve") not in html


def test_changelist_links_to_review_queue(admin_client):
    make_asset()
    response = admin_client.get(CHANGELIST_URL)
    assert REVIEW_URL in response.content.decode()
    assert "Review queue (1)" in response.content.decode()


def test_approve_button_fans_out_to_every_channel(admin_client, transactional_db):
    channels = [make_channel("youtube"), make_channel("tiktok")]
    asset = make_asset(channels=channels)
    page = admin_client.get(change_url(asset)).content.decode()
    assert transition_url(asset, "approve") in page

    response = admin_client.post(transition_url(asset, "approve"), follow=True)

    asset.refresh_from_db()
    assert asset.state == Asset.State.PUBLISHING
    assert sorted(asset.publications.values_list("channel_id", flat=True)) == sorted(c.pk for c in channels)
    assert asset.publications.filter(state=Publication.State.PENDING).count() == 2
    assert queued("publish") == 2
    assert response.redirect_chain[-1][0] == change_url(asset)
    assert any("publishing" in text for text in texts(response))


def test_change_page_offers_only_possible_transitions(admin_client):
    asset = make_asset(Asset.State.RENDERING)
    page = admin_client.get(change_url(asset)).content.decode()
    assert transition_url(asset, "approve") not in page
    assert transition_url(asset, "cancel") in page
    # The protected state is shown, never editable.
    assert 'name="state"' not in page


def test_approve_bulk_action_reports_each_asset(admin_client, transactional_db):
    channel = make_channel("x")
    first, second = make_asset(channels=[channel]), make_asset(channels=[channel])
    not_ready = make_asset(Asset.State.VOICING, channels=[channel])

    response = admin_client.post(CHANGELIST_URL, {
        "action": "approve_selected", "_selected_action": [first.pk, second.pk, not_ready.pk],
    }, follow=True)

    for asset in (first, second):
        asset.refresh_from_db()
        assert asset.state == Asset.State.PUBLISHING
        assert asset.publications.count() == 1
    not_ready.refresh_from_db()
    assert not_ready.state == Asset.State.VOICING
    assert not not_ready.publications.exists()
    assert queued("publish") == 2
    messages = texts(response)
    assert any(f"Asset {not_ready.pk} not changed" in m and "not awaiting review" in m for m in messages)


def test_user_without_review_permission_is_denied(staff_client):
    channel = make_channel()
    asset = make_asset(channels=[channel])

    page = staff_client.get(change_url(asset)).content.decode()
    assert transition_url(asset, "approve") not in page
    assert staff_client.post(transition_url(asset, "approve")).status_code == 403
    assert staff_client.post(transition_url(asset, "reject"), {"notes": "no"}).status_code == 403
    response = staff_client.post(CHANGELIST_URL, {"action": "approve_selected", "_selected_action": [asset.pk]},
                                 follow=True)
    assert response.status_code == 200

    asset.refresh_from_db()
    assert asset.state == Asset.State.AWAITING_REVIEW
    assert not Publication.objects.exists()
    queue_page = staff_client.get(REVIEW_URL).content.decode()
    assert "<video controls" in queue_page and transition_url(asset, "approve") not in queue_page


def test_reject_with_notes(admin_client):
    asset = make_asset()
    admin_client.post(transition_url(asset, "reject"), {"notes": "Off brand colours"})
    asset.refresh_from_db()
    assert asset.state == Asset.State.REJECTED
    assert asset.review_notes == "Off brand colours"
    assert asset.reviewed_by.username == "admin"
    log = TransitionLog.objects.filter(asset=asset).last()
    assert (log.from_state, log.to_state, log.reason) == ("awaiting_review", "rejected", "Off brand colours")


def test_send_back_requires_notes(admin_client, transactional_db):
    asset = make_asset()
    response = admin_client.post(transition_url(asset, "send_back"), {"notes": "  "}, follow=True)
    asset.refresh_from_db()
    assert asset.state == Asset.State.AWAITING_REVIEW
    assert any("notes" in m for m in texts(response))

    admin_client.post(transition_url(asset, "send_back"), {"notes": "Shorter hook, please"})
    asset.refresh_from_db()
    assert asset.state == Asset.State.SCRIPTING
    assert asset.review_notes == "Shorter hook, please"
    assert queued("script") == 1


def test_send_back_bulk_action_asks_for_notes_first(admin_client):
    first, second = make_asset(), make_asset()
    data = {"action": "send_back_selected", "_selected_action": [first.pk, second.pk]}

    confirm = admin_client.post(CHANGELIST_URL, data)
    assert confirm.status_code == 200
    assert 'name="notes"' in confirm.content.decode()

    empty = admin_client.post(CHANGELIST_URL, {**data, "apply": "1", "notes": ""})
    assert empty.status_code == 200 and "Say what the rewrite should change" in empty.content.decode()
    first.refresh_from_db()
    assert first.state == Asset.State.AWAITING_REVIEW

    admin_client.post(CHANGELIST_URL, {**data, "apply": "1", "notes": "More facts"})
    for asset in (first, second):
        asset.refresh_from_db()
        assert (asset.state, asset.review_notes) == (Asset.State.SCRIPTING, "More facts")


def test_reject_bulk_action_with_notes(admin_client):
    asset = make_asset()
    admin_client.post(CHANGELIST_URL, {"action": "reject_selected", "_selected_action": [asset.pk],
                                       "apply": "1", "notes": "Duplicate topic"})
    asset.refresh_from_db()
    assert (asset.state, asset.review_notes) == (Asset.State.REJECTED, "Duplicate topic")


def test_cancel_bulk_action(admin_client):
    running, done = make_asset(Asset.State.VOICING), make_asset(Asset.State.CANCELLED)
    response = admin_client.post(CHANGELIST_URL, {"action": "cancel_selected",
                                                  "_selected_action": [running.pk, done.pk]}, follow=True)
    running.refresh_from_db()
    assert running.state == Asset.State.CANCELLED
    assert any(f"Asset {done.pk} not changed" in m and "cannot be cancelled" in m for m in texts(response))
