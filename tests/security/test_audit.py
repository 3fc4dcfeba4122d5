"""The audit trail: who approved, rejected, edited, requeued, retried, forced a breaker, changed faults,
connected or disconnected a channel, issued or revoked a token — one admin page and one API list."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.services import audit
from phantoms.engine.services import breakers, dead_letters
from pipeline.models import Asset
from pipeline.services.edits import edit_asset
from pipeline.services.review import approve_asset, cancel_asset, reject_asset
from publishing.models import Channel, Publication
from publishing.services import disconnect_channel, retry_or_requeue, save_channel
from tests.admin.factories import make_staff
from tests.api.conftest import client_for
from tests.factories import (
    make_asset,
    make_failed_asset,
    make_letter,
    make_publication_in,
    make_publishing_asset,
    make_team,
    make_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_throttling(settings):
    settings.API_THROTTLE_RATES = {}


def test_every_kind_of_action_is_recorded_with_its_actor_and_team(settings):
    settings.SANDBOX_KEY_PREFIX = "phantoms:test-audit"
    team = make_team("audited")
    person = make_user("pat", roles=["editor", "approver", "operator"], teams=[team])
    approve_asset(make_asset(Asset.State.AWAITING_REVIEW, team=team).pk, user=person, notes="ship")
    reject_asset(make_asset(Asset.State.AWAITING_REVIEW, team=team).pk, user=person, notes="off brand")
    reject_asset(make_asset(Asset.State.AWAITING_REVIEW, team=team).pk, user=person, notes="shorter", rewrite=True)
    cancel_asset(make_asset(Asset.State.SCRIPTING, team=team).pk, user=person)
    edit_asset(make_asset(Asset.State.SCRIPTING, team=team).pk, changes={"title": "New"}, user=person)
    dead_letters.requeue(make_letter(make_failed_asset("voice", team=team), stage="voice").pk, user=person)
    dead_letters.discard(make_letter(make_failed_asset("script", team=team)).pk, user=person)
    channel = save_channel(Channel(team=team, platform="x", name="news", account_id="n1"), changed=[], user=person)
    publication = make_publication_in(make_publishing_asset(team=team, channels=[channel]), channel,
                                      Publication.State.NEEDS_ATTENTION)
    retry_or_requeue(publication.pk, user=person)
    channel.is_active = False
    save_channel(channel, changed=["is_active"], user=person)
    spare = save_channel(Channel(team=team, platform="x", name="spare", account_id="n2"), changed=[], user=person)
    disconnect_channel(spare.pk, user=person)
    breakers.force("tiktok", "reset", actor="pat", user=person)
    call_command("sandbox_faults", "set", "tiktok", "--error-rate", "0.5")

    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["approved", "rejected", "sent_back", "cancelled", "edited", "requeued", "discarded",
                       "channel_connected", "publication_retried", "channel_disconnected", "channel_connected",
                       "channel_disconnected", "breaker_changed", "faults_changed"]
    for event in AuditEvent.objects.exclude(action="faults_changed"):
        assert (event.actor_id, event.actor_name) == (person.pk, "pat"), event
    assert set(AuditEvent.objects.filter(team=team).values_list("action", flat=True)) >= {
        "approved", "requeued", "channel_connected", "publication_retried"}
    faults = AuditEvent.objects.get(action="faults_changed")
    assert faults.team is None and "command line" in faults.actor_name and faults.details["error_rate"] == 0.5


def test_the_api_lists_the_trail_of_my_teams_and_the_shared_events():
    mine, theirs = make_team("mine"), make_team("theirs")
    audit.record("approved", actor="someone", target=make_asset(team=mine), summary="ours")
    audit.record("approved", actor="someone", target=make_asset(team=theirs), summary="theirs")
    audit.record("breaker_changed", actor="ops", target_type="breaker", target_id="x", summary="shared")
    viewer = client_for(make_user("v", roles=["viewer"], teams=[mine]))
    rows = viewer.get("/api/audit/").json()["results"]
    assert sorted(row["summary"] for row in rows) == ["ours", "shared"]
    assert [r["summary"] for r in viewer.get("/api/audit/", {"action": "breaker_changed"}).json()["results"]] == [
        "shared"]
    other_id = AuditEvent.objects.get(summary="theirs").pk
    assert viewer.get(f"/api/audit/{other_id}/").status_code == 404


def test_the_admin_page_lists_the_trail(client):
    team = make_team("mine")
    audit.record("edited", actor="pat", target=make_asset(team=team), summary="changed title")
    client.force_login(make_staff("v", roles=["viewer"], teams=[team]))
    html = client.get(reverse("admin:accounts_auditevent_changelist")).content.decode()
    assert "changed title" in html and "pat" in html
