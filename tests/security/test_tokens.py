"""Integration tokens: hashed at rest, scoped to a team and a role, revocable, expiring, last use noted."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuditEvent, IntegrationToken
from accounts.services.tokens import TokenError, issue_token, revoke_token
from pipeline.models import Asset
from tests.api.conftest import token_client
from tests.factories import make_asset, make_channel, make_team, make_user

pytestmark = pytest.mark.django_db


def test_only_a_hash_of_the_key_is_stored(db):
    team = make_team()
    token, key = issue_token(name="crm", team=team)
    stored = IntegrationToken.objects.filter(pk=token.pk).values().get()
    assert key not in str(stored) and key.split(".")[1] not in str(stored)
    assert stored["hashed_key"].startswith("sha512$$")
    assert token.prefix == key.split(".")[0]


def test_a_token_acts_in_its_team_with_its_role(db):
    team, other = make_team("ours"), make_team("theirs")
    channel = make_channel("youtube", team=team)
    api, token = token_client(team)
    created = api.post("/api/assets/", {"brief": "Why the sky is blue", "channels": [channel.pk]}, format="json")
    assert created.status_code == 201, created.content
    asset = Asset.objects.get()
    assert asset.team == team and asset.created_by == token.principal

    # It reads what it submitted, not the rest of its team's work, and nothing of another team.
    make_asset(team=team)
    foreign = make_asset(team=other)
    assert [row["id"] for row in api.get("/api/assets/").json()["results"]] == [asset.pk]
    assert api.get(f"/api/assets/{foreign.pk}/").status_code == 404
    # Another team's channel looks absent too.
    theirs = make_channel("x", team=other)
    refused = api.post("/api/assets/", {"brief": "b", "channels": [theirs.pk]}, format="json")
    assert refused.status_code == 400 and "channels" in refused.json()["error"]["fields"]
    # No approval, no dead letters, no breakers for an integration.
    assert api.post(f"/api/assets/{asset.pk}/approve/", format="json").status_code == 403
    assert api.get("/api/dead-letters/").status_code == 403
    assert api.get("/api/breakers/").status_code == 403


def test_approval_can_be_granted_to_an_integration(db):
    team = make_team()
    api, _ = token_client(team, can_approve=True)
    asset = make_asset(Asset.State.AWAITING_REVIEW, team=team)
    # It may approve what it can see: here, an asset it did not submit is not visible to it...
    assert api.post(f"/api/assets/{asset.pk}/approve/", format="json").status_code == 404
    # ...and one it submitted is.
    created = api.post("/api/assets/", {"brief": "x"}, format="json").json()
    assert api.post(f"/api/assets/{created['id']}/approve/", format="json").status_code == 409  # still scripting


def test_a_revoked_token_is_refused_and_stays_revoked(db):
    team = make_team()
    api, token = token_client(team)
    assert api.get("/api/assets/").status_code == 200
    assert revoke_token(token.pk) is True
    assert revoke_token(token.pk) is False
    response = api.get("/api/assets/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "authentication_failed"
    token.refresh_from_db()
    assert token.revoked and token.revoked_at is not None
    assert AuditEvent.objects.filter(action="token_revoked", target_id=token.prefix).count() == 1


def test_a_tokens_permissions_and_teams_are_read_once_a_request_and_never_kept(db):
    """One query for the principal's permissions and teams (accounts.scoping.preload), read again on
    every request: a changed role or team takes effect on the very next request."""
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    team, other = make_team("ours"), make_team("theirs")
    api, token = token_client(team, role="viewer")
    mine, theirs = make_asset(team=team), make_asset(team=other)
    api.get("/api/assets/")  # the token's last use is written now, not in the count below
    with CaptureQueriesContext(connection) as queries:
        assert [row["id"] for row in api.get("/api/assets/").json()["results"]] == [mine.pk]
    # the token with its principal; permissions and teams; the ETag aggregate; the page; its channels
    assert len(queries) == 5, [q["sql"][:80] for q in queries.captured_queries]

    other.members.add(token.principal)
    assert {row["id"] for row in api.get("/api/assets/").json()["results"]} == {mine.pk, theirs.pk}
    token.principal.groups.remove(Group.objects.get(name="viewer"))
    assert api.get("/api/assets/").status_code == 403


def test_an_expired_token_is_refused(db):
    team = make_team()
    api, token = token_client(team, expires_at=timezone.now() + timedelta(seconds=30))
    assert api.get("/api/assets/").status_code == 200
    IntegrationToken.objects.filter(pk=token.pk).update(expiry_date=timezone.now() - timedelta(seconds=1))
    response = api.get("/api/assets/")
    assert response.status_code == 401 and "expired" in response.json()["error"]["message"]


def test_last_use_is_noted(db):
    api, token = token_client(make_team())
    assert token.last_used_at is None
    api.get("/api/assets/")
    token.refresh_from_db()
    assert token.last_used_at is not None and timezone.now() - token.last_used_at < timedelta(seconds=10)


def test_a_key_with_a_right_prefix_and_a_wrong_secret_is_refused(db):
    _, token = token_client(make_team())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.prefix}.{'x' * 32}")
    assert client.get("/api/assets/").status_code == 401


def test_nobody_hands_out_more_than_they_hold(db):
    team, other = make_team("ours"), make_team("theirs")
    operator = make_user("op", roles=["operator"], teams=[team])
    with pytest.raises(TokenError, match="your own teams"):
        issue_token(name="x", team=other, role="operator", issuer=operator)
    with pytest.raises(TokenError, match="roles you hold"):
        issue_token(name="x", team=team, role="editor", issuer=operator)
    with pytest.raises(TokenError, match="approve yourself"):
        issue_token(name="x", team=team, role="operator", can_approve=True, issuer=operator)
    token, _ = issue_token(name="ok", team=team, role="operator", issuer=operator)
    assert token.created_by == operator


def test_the_admin_shows_the_key_once_and_revokes(client):
    from django.urls import reverse

    from tests.admin.factories import make_staff

    team = make_team("ops")
    operator = make_staff("op", roles=["operator", "integration"], teams=[team])
    client.force_login(operator)
    response = client.post(reverse("admin:accounts_integrationtoken_add"),
                           {"name": "crm", "team": team.pk, "role": "integration"}, follow=True)
    assert response.status_code == 200
    token = IntegrationToken.objects.get()
    shown = [str(m) for m in response.context["messages"] if "will not be shown again" in str(m)]
    assert len(shown) == 1 and "will not be shown again" in shown[0]
    page = client.get(reverse("admin:accounts_integrationtoken_change", args=[token.pk])).content.decode()
    assert token.prefix in page and shown[0].split(" is ")[1].split(" ")[0] not in page

    client.post(reverse("admin:accounts_integrationtoken_changelist"),
                {"action": "revoke_selected", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked
