from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from phantoms.engine.models import DeadLetter, StageAttempt, TransitionLog
from pipeline.models import Asset
from tests.admin.conftest import queued, texts
from tests.admin.factories import make_asset, make_dead_letter

pytestmark = pytest.mark.django_db

CHANGELIST_URL = reverse("admin:engine_deadletter_changelist")


def test_requeue_twice_resumes_the_asset_once(admin_client, transactional_db):
    asset = make_asset(Asset.State.FAILED, failed_stage="voice")
    letter = make_dead_letter(asset, stage="voice")
    data = {"action": "requeue_selected", "_selected_action": [letter.pk]}

    first = admin_client.post(CHANGELIST_URL, data, follow=True)
    second = admin_client.post(CHANGELIST_URL, data, follow=True)

    asset.refresh_from_db()
    letter.refresh_from_db()
    assert asset.state == Asset.State.VOICING
    assert TransitionLog.objects.filter(asset=asset, from_state="failed").count() == 1
    assert queued("voice") == 1
    assert (letter.status, letter.requeued_by) == (DeadLetter.Status.REQUEUED, "admin")
    assert f"Dead letter {letter.pk} requeued: asset back to voicing." in texts(first)
    assert f"Dead letter {letter.pk} not requeued: already requeued." in texts(second)


def test_discard_action(admin_client):
    letter = make_dead_letter(make_asset(Asset.State.FAILED, failed_stage="script"))
    response = admin_client.post(CHANGELIST_URL, {"action": "discard_selected", "_selected_action": [letter.pk]},
                                 follow=True)
    letter.refresh_from_db()
    assert letter.status == DeadLetter.Status.DISCARDED
    assert f"Dead letter {letter.pk} discarded." in texts(response)


def test_requeue_needs_permission(staff_client):
    asset = make_asset(Asset.State.FAILED, failed_stage="script")
    letter = make_dead_letter(asset)

    page = staff_client.get(CHANGELIST_URL)
    assert page.status_code == 200
    assert "requeue_selected" not in page.content.decode()
    staff_client.post(CHANGELIST_URL, {"action": "requeue_selected", "_selected_action": [letter.pk]})
    assert staff_client.post(reverse("admin:engine_deadletter_requeue", args=[letter.pk])).status_code == 403

    letter.refresh_from_db()
    asset.refresh_from_db()
    assert letter.status == DeadLetter.Status.OPEN
    assert asset.state == Asset.State.FAILED


def test_age_filter(admin_client):
    asset = make_asset(Asset.State.FAILED, failed_stage="script")
    now = timezone.now()
    recent = make_dead_letter(asset, last_failed_at=now - timedelta(minutes=5))
    yesterday = make_dead_letter(asset, last_failed_at=now - timedelta(hours=5))
    old = make_dead_letter(asset, last_failed_at=now - timedelta(days=9))

    def ids(age):
        return {letter.pk for letter in admin_client.get(CHANGELIST_URL, {"age": age}).context["cl"].result_list}

    assert ids("hour") == {recent.pk}
    assert ids("day") == {recent.pk, yesterday.pk}
    assert ids("week") == {recent.pk, yesterday.pk}
    assert ids("older") == {old.pk}


def test_detail_shows_traceback_and_attempt_history(admin_client):
    asset = make_asset(Asset.State.FAILED, failed_stage="render")
    StageAttempt.objects.create(asset=asset, stage="render", number=3, provider="remote", outcome="transient",
                                error="503 from render service")
    letter = make_dead_letter(asset, stage="render", traceback="Traceback (most recent call last):\n  <boom>")

    response = admin_client.get(reverse("admin:engine_deadletter_change", args=[letter.pk]))
    html = response.content.decode()
    assert '<pre class="ph-pre">Traceback (most recent call last):\n  &lt;boom&gt;</pre>' in html
    assert "503 from render service" in html
    assert reverse("admin:engine_deadletter_requeue", args=[letter.pk]) in html
    assert admin_client.get(reverse("admin:engine_deadletter_add")).status_code == 403


def test_requeue_button_on_detail_page(admin_client, transactional_db):
    asset = make_asset(Asset.State.FAILED, failed_stage="script")
    letter = make_dead_letter(asset)
    admin_client.post(reverse("admin:engine_deadletter_requeue", args=[letter.pk]))
    asset.refresh_from_db()
    assert asset.state == Asset.State.SCRIPTING
    assert queued("script") == 1
