"""The authorization-code flow per platform, from the admin's button to a stored, encrypted token."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.db import connection as db
from django.urls import reverse

from connections import services
from connections.models import AuthorizationRequest, Connection
from connections.providers import provider_for
from connections.providers.base import GrantRefused
from publishing.models import Channel, Publication
from sandbox.models import SandboxPost
from sandbox.oauth.models import OAuthGrant
from tests.connections.conftest import connect, consent, run

PLATFORMS = ["youtube", "tiktok", "instagram", "x"]


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def raw_tokens(connection_id: int) -> tuple[str, str]:
    with db.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM connections_connection WHERE id = %s",
                       [connection_id])
        return cursor.fetchone()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_connect_stores_the_account_and_an_encrypted_token_then_publishes(oauth_sandbox, admin_client, team, platform,
                                                                         publish):
    answer, back = connect(admin_client, platform, account="Night Owl")
    assert answer.status_code == 302
    assert any(text.startswith("Connected") and "Night Owl" in text for text in messages_of(answer)), \
        messages_of(answer)

    channel = Channel.objects.get(platform=platform)
    connection = Connection.objects.get(channel=channel)
    provider = provider_for(platform)
    assert channel.team == team and channel.name == "Night Owl"
    assert connection.status == "connected"
    assert connection.missing_scopes == [] and set(provider.scopes) <= set(connection.scopes)
    assert connection.expires_at is not None

    # The platform knows the token as this account's; the database holds only ciphertext.
    token = connection.access_token.reveal()
    assert provider.account(connection.access_token).id == channel.account_id
    stored_access, stored_refresh = raw_tokens(connection.pk)
    assert token not in stored_access and stored_access.startswith("gAAAA")
    if platform != "instagram":  # Instagram's long-lived token refreshes itself; no refresh token
        assert connection.refresh_token and connection.refresh_token.reveal() not in stored_refresh
    assert services.access_token(channel) == token
    # The one-time state was used.
    assert AuthorizationRequest.objects.get().used_at is not None
    if platform in ("youtube", "x"):
        grant = OAuthGrant.objects.get(platform=platform)
        assert grant.code_challenge, "PKCE: the authorization request carried an S256 challenge"

    # And the platform's adapter publishes with it.
    publication = publish(channel)
    run(publication)
    assert publication.state == Publication.State.PUBLISHED
    assert SandboxPost.objects.filter(platform=platform).count() == 1


def test_x_authorize_without_pkce_is_refused_by_the_platform(oauth_sandbox, admin_client):
    start = admin_client.post(reverse("admin:connections_connection_connect", args=["x"]))
    url = start["Location"]
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    import httpx

    stripped = url.replace(f"code_challenge={query['code_challenge'][0]}", "code_challenge=")
    answer = httpx.get(stripped, follow_redirects=False)
    assert answer.status_code == 302 and "error=invalid_request" in answer.headers["location"]


def test_a_callback_with_another_state_is_refused(oauth_sandbox, admin_client):
    start = admin_client.post(reverse("admin:connections_connection_connect", args=["youtube"]))
    back = consent(start["Location"])
    parts = urlsplit(back)
    forged = parts.query.replace("state=", "state=forged")
    answer = admin_client.get(f"{parts.path}?{forged}")
    assert answer.status_code == 302
    assert any("state:" in text for text in messages_of(answer))
    assert not Connection.objects.exists() and not Channel.objects.exists()


def test_a_replayed_callback_and_a_replayed_code_are_refused(oauth_sandbox, admin_client):
    answer, back = connect(admin_client, "tiktok")
    assert Connection.objects.count() == 1
    parts = urlsplit(back)
    again = admin_client.get(f"{parts.path}?{parts.query}")
    assert any("state: this connect request was already completed" in t for t in messages_of(again))

    # The same code presented to the token endpoint a second time: refused, and (RFC 6749 §4.1.2)
    # the tokens issued for it are revoked.
    code = parse_qs(parts.query)["code"][0]
    provider = provider_for("tiktok")
    with pytest.raises(GrantRefused) as refused:
        provider.exchange(code=code, redirect_uri=AuthorizationRequest.objects.get().redirect_uri, code_verifier="")
    assert code not in str(refused.value)
    token = Connection.objects.get().access_token
    with pytest.raises(GrantRefused):
        provider.account(token)


def test_a_person_who_cancels_gets_a_named_error(oauth_sandbox, admin_client):
    answer, _ = connect(admin_client, "instagram", allow=False)
    assert any("authorization: Instagram answered access_denied" in t for t in messages_of(answer))
    assert not Connection.objects.exists()


@pytest.mark.parametrize(("platform", "untick", "named"), [
    ("tiktok", ["video.publish"], "video.publish"),
    ("youtube", ["https://www.googleapis.com/auth/youtube.upload"], "youtube.upload"),
    ("x", ["offline.access"], "offline.access"),
])
def test_missing_scopes_are_named_at_connect_time(oauth_sandbox, admin_client, platform, untick, named):
    answer, _ = connect(admin_client, platform, untick=untick)
    warnings = [t for t in messages_of(answer) if "did not grant" in t]
    assert warnings and named in warnings[0]
    connection = Connection.objects.get()
    assert connection.missing_scopes == untick
    page = admin_client.get(reverse("admin:connections_connection_changelist")).content.decode()
    assert named in page and "Reconnect" in page


def test_connect_requires_the_permission_to_add_channels(oauth_sandbox, client, team):
    from tests.factories import make_user

    viewer = make_user("viewer", perms=["publishing.view_channel"], is_staff=True, teams=[team])
    client.force_login(viewer)
    answer = client.post(reverse("admin:connections_connection_connect", args=["youtube"]))
    assert answer.status_code == 403
    assert not AuthorizationRequest.objects.exists()


def test_an_unknown_platform_is_named(oauth_sandbox, admin_client):
    answer = admin_client.post(reverse("admin:connections_connection_connect", args=["myspace"]))
    assert answer.status_code == 302
    assert any("platform: 'myspace'" in t for t in messages_of(answer))
