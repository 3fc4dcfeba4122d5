"""Tokens stay fresh without anyone touching them: refresh before expiry and on a 401, once across
workers; a refused refresh marks the channel needs_reauth; reconnecting restores it."""

import threading
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.messages import get_messages
from django.db import close_old_connections
from django.urls import reverse
from django.utils import timezone

from connections import services
from connections.errors import AwaitingReconnect
from connections.models import Connection
from connections.providers import provider_for
from connections.providers.base import GrantRefused
from phantoms.resilience.errors import NotReady
from publishing.models import Channel
from sandbox.oauth.models import OAuthGrant, OAuthToken
from tests.connections.conftest import connect, consent

PLATFORMS = ["youtube", "tiktok", "instagram", "x"]


def connected(client, platform, **options) -> tuple[Channel, Connection]:
    connect(client, platform, **options)
    connection = Connection.objects.select_related("channel").get(channel__platform=platform)
    return connection.channel, connection


def expire(connection: Connection, *, at_platform: bool = True, seconds_left: float = -1):
    """Our record says the token expires in `seconds_left`; the platform may expire it already."""
    Connection.objects.filter(pk=connection.pk).update(expires_at=timezone.now() + timedelta(seconds=seconds_left))
    if at_platform:
        OAuthToken.objects.filter(value=connection.access_token.reveal()).update(
            expires_at=timezone.now() - timedelta(seconds=1))


def accepted(platform: str, token: str) -> bool:
    from phantoms.encryption import Secret

    try:
        provider_for(platform).account(Secret(token))
    except GrantRefused:
        return False
    return True


@pytest.mark.parametrize("platform", PLATFORMS)
def test_an_expired_token_is_refreshed_before_use(oauth_sandbox, admin_client, platform):
    channel, connection = connected(admin_client, platform)
    old = connection.access_token.reveal()
    if platform == "instagram":
        # A long-lived Instagram token can be refreshed only while it is valid (there is no refresh
        # token): Phantoms refreshes it a week before it ends.
        expire(connection, at_platform=False, seconds_left=86400)
    else:
        expire(connection)
        assert not accepted(platform, old)

    fresh = services.access_token(Channel.objects.get(pk=channel.pk))

    assert fresh != old and accepted(platform, fresh)
    connection.refresh_from_db()
    assert connection.generation == 2 and connection.status == "connected"
    assert connection.expires_at > timezone.now() + timedelta(minutes=30)
    if platform in ("tiktok", "x"):  # rotating refresh tokens: the old one is spent
        assert OAuthToken.objects.filter(kind="refresh", spent_at__isnull=False).count() == 1


def test_a_token_is_refreshed_shortly_before_it_expires_and_not_earlier(oauth_sandbox, admin_client):
    channel, connection = connected(admin_client, "youtube")
    old = connection.access_token.reveal()
    expire(connection, at_platform=False, seconds_left=3000)
    assert services.access_token(channel) == old
    expire(connection, at_platform=False, seconds_left=120)  # inside the five-minute margin
    assert services.access_token(channel) != old


def test_two_workers_meeting_an_expired_token_refresh_it_once(oauth_sandbox, admin_client):
    channel, connection = connected(admin_client, "x")
    expire(connection)
    issued_before = OAuthToken.objects.filter(kind="access").count()
    barrier = threading.Barrier(4)
    tokens, errors = [], []

    def worker():
        try:
            barrier.wait()
            tokens.append(services.access_token(Channel.objects.get(pk=channel.pk)))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert len(tokens) == 4 and len(set(tokens)) == 1
    assert OAuthToken.objects.filter(kind="access").count() == issued_before + 1
    assert Connection.objects.get().generation == 2
    assert accepted("x", tokens[0])


def test_a_401_forces_one_refresh_and_a_retry(oauth_sandbox, admin_client):
    channel, connection = connected(admin_client, "tiktok")
    # The platform dropped the token early; our clock still thinks it is good.
    Connection.objects.filter(pk=connection.pk).update(refreshed_at=timezone.now() - timedelta(minutes=10))
    expire(connection, seconds_left=3600)
    channel = Channel.objects.get(pk=channel.pk)
    old = services.access_token(channel)
    assert not accepted("tiktok", old)

    with pytest.raises(NotReady) as wait:
        services.on_unauthorized(channel, "access_token_invalid")
    assert not isinstance(wait.value, AwaitingReconnect) and wait.value.retry_after <= 1

    fresh = services.access_token(Channel.objects.get(pk=channel.pk))
    assert fresh != old and accepted("tiktok", fresh)
    # The same 401 reported again by a worker that held the old token: no second refresh.
    with pytest.raises(NotReady):
        services.on_unauthorized(channel)
    assert Connection.objects.get().generation == 2


def test_a_401_on_a_token_just_issued_needs_a_person(oauth_sandbox, admin_client):
    channel, _ = connected(admin_client, "youtube")
    channel = Channel.objects.get(pk=channel.pk)
    services.access_token(channel)
    with pytest.raises(AwaitingReconnect):
        services.on_unauthorized(channel, "Request had invalid authentication credentials.")
    assert Connection.objects.get().status == "needs_reauth"


# A rotating refresh token (TikTok) and a self-refreshing long-lived token (Instagram).
@pytest.mark.parametrize("platform", ["tiktok", "instagram"])
def test_a_refused_refresh_marks_needs_reauth_and_reconnecting_restores_it(oauth_sandbox, admin_client, platform):
    channel, connection = connected(admin_client, platform, account="Early Bird")
    # The person revoked Phantoms' access on the platform's side.
    OAuthGrant.objects.update(revoked_at=timezone.now())
    expire(connection)

    with pytest.raises(AwaitingReconnect) as waiting:
        services.access_token(Channel.objects.get(pk=channel.pk))
    assert waiting.value.retry_after > 60  # a long wait, woken by the reconnect
    connection.refresh_from_db()
    assert connection.status == "needs_reauth" and connection.last_error
    page = admin_client.get(reverse("admin:connections_connection_changelist")).content.decode()
    assert "needs_reauth" in page and 'class="button default"' in page

    # Reconnect: the admin's button, the same account at the platform.
    start = admin_client.post(reverse("admin:connections_connection_reconnect", args=[connection.pk]))
    back = consent(start["Location"], account="Early Bird")
    parts = urlsplit(back)
    answer = admin_client.get(f"{parts.path}?{parts.query}")
    assert any(str(m).startswith("Reconnected") for m in get_messages(answer.wsgi_request))
    connection.refresh_from_db()
    assert connection.status == "connected" and Channel.objects.count() == 1
    assert accepted(platform, services.access_token(Channel.objects.get(pk=channel.pk)))


def test_reconnecting_as_another_account_is_refused(oauth_sandbox, admin_client):
    channel, connection = connected(admin_client, "tiktok", account="Early Bird")
    start = admin_client.post(reverse("admin:connections_connection_reconnect", args=[connection.pk]))
    parts = urlsplit(consent(start["Location"], account="Someone Else"))
    answer = admin_client.get(f"{parts.path}?{parts.query}")
    texts = [str(m) for m in get_messages(answer.wsgi_request)]
    assert any(t.startswith("Could not connect: account:") for t in texts), texts
    assert Channel.objects.count() == 1 and Connection.objects.get().generation == 1


@pytest.mark.parametrize(("platform", "revocable"), [("x", True), ("instagram", False)])
def test_disconnect_revokes_at_the_platform_and_deletes_here(oauth_sandbox, admin_client, platform, revocable):
    channel, connection = connected(admin_client, platform)
    token = connection.access_token.reveal()
    page = admin_client.get(reverse("admin:connections_connection_disconnect", args=[connection.pk]))
    assert page.status_code == 200 and b"revoked at the platform" in page.content
    answer = admin_client.post(reverse("admin:connections_connection_disconnect", args=[connection.pk]))
    texts = [str(m) for m in get_messages(answer.wsgi_request)]
    assert not Connection.objects.exists() and not Channel.objects.exists()
    if revocable:
        assert "revoked at the platform and deleted" in texts[0]
        assert OAuthGrant.objects.get().revoked_at is not None and not accepted(platform, token)
    else:
        assert "Instagram has no revocation" in texts[0]


def test_the_platform_apis_refuse_an_expired_token_and_take_the_refreshed_one(oauth_sandbox, admin_client):
    """The sandbox's X API (a platform imitation) knows the tokens its authorization server issued."""
    import httpx

    channel, connection = connected(admin_client, "x")
    url = f"{oauth_sandbox}/sandbox/platforms/x/2/users/me"
    old = connection.access_token.reveal()
    assert httpx.get(url, headers={"Authorization": f"Bearer {old}"}).status_code != 401
    expire(connection)
    assert httpx.get(url, headers={"Authorization": f"Bearer {old}"}).status_code == 401
    fresh = services.access_token(Channel.objects.get(pk=channel.pk))
    assert httpx.get(url, headers={"Authorization": f"Bearer {fresh}"}).status_code != 401


def test_an_adapter_reads_the_token_once_for_a_job_s_calls_and_again_after_a_401(monkeypatch):
    import httpx

    from publishing.platforms import base, credentials
    from publishing.platforms.youtube import YouTube

    reads = []
    monkeypatch.setattr(credentials, "access_token", lambda channel: reads.append(channel) or f"token-{len(reads)}")

    def refreshed(channel, message=""):
        raise NotReady("refreshed", retry_after=0)

    monkeypatch.setattr(credentials, "on_unauthorized", refreshed)
    adapter = YouTube(Channel(platform="youtube", account_id="a", team_id=1), base_url="http://platform.invalid")
    assert adapter.headers() == adapter.headers() == {"Authorization": "Bearer token-1"}
    assert len(reads) == 1
    request = httpx.Request("GET", "http://platform.invalid/x")
    with pytest.raises(NotReady):
        adapter.check(httpx.Response(401, request=request, json={}), "youtube")
    assert adapter.headers() == {"Authorization": "Bearer token-2"}  # a 401 drops the token read
    monkeypatch.setattr(base, "TOKEN_REUSE_SECONDS", 0.0)
    assert adapter.headers() == {"Authorization": "Bearer token-3"}  # and so does time
