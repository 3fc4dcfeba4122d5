"""Publishing through a real platform adapter with a connected account: the token expires and is
refreshed, a 401 is answered by one refresh, and a refused refresh pauses publications until the
channel is reconnected, after which each is published exactly once."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from connections.models import Connection
from phantoms.engine.models import DeadLetter
from phantoms.resilience.breakers import get_breaker
from publishing.models import Publication
from sandbox.models import SandboxPost
from sandbox.oauth.models import OAuthGrant, OAuthToken
from tests.connections.conftest import connect, consent, run

# The runner commits for real (and the sandbox answers from another thread).
pytestmark = pytest.mark.django_db(transaction=True)


def expire_everywhere(connection: Connection):
    Connection.objects.filter(pk=connection.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    OAuthToken.objects.filter(value=connection.access_token.reveal()).update(
        expires_at=timezone.now() - timedelta(seconds=1))


def test_an_expired_token_is_refreshed_and_the_post_published(oauth_sandbox, admin_client, publish):
    connect(admin_client, "x")
    connection = Connection.objects.select_related("channel").get()
    expire_everywhere(connection)
    publication = publish(connection.channel)

    run(publication)

    assert publication.state == Publication.State.PUBLISHED
    assert SandboxPost.objects.filter(platform="x").count() == 1
    assert Connection.objects.get().generation == 2


def test_a_401_is_answered_by_one_refresh_and_the_post_published(oauth_sandbox, admin_client, publish):
    connect(admin_client, "x")
    connection = Connection.objects.select_related("channel").get()
    # The platform dropped the token early; our record says it is good for an hour.
    Connection.objects.filter(pk=connection.pk).update(refreshed_at=timezone.now() - timedelta(minutes=5))
    OAuthToken.objects.filter(value=connection.access_token.reveal()).update(expires_at=timezone.now())
    publication = publish(connection.channel)

    outcomes = run(publication)

    assert outcomes[0] == "not_ready"  # the 401: refreshed, and the job runs again at once
    assert publication.state == Publication.State.PUBLISHED, outcomes
    assert Connection.objects.get().generation == 2 and publication.attempts == 0
    assert SandboxPost.objects.filter(platform="x").count() == 1


def test_a_refused_refresh_pauses_publications_until_reconnected_then_each_is_published_once(
        oauth_sandbox, admin_client, publish):
    connect(admin_client, "x", account="Early Bird")
    connection = Connection.objects.select_related("channel").get()
    OAuthGrant.objects.update(revoked_at=timezone.now())  # access revoked on the platform's side
    expire_everywhere(connection)
    first, second = publish(connection.channel), publish(connection.channel)

    assert run(first) == ["not_ready"] and run(second) == ["not_ready"]

    for publication in (first, second):
        # Its intent committed (uploading), nothing sent: it waits where it stopped.
        assert publication.state in (Publication.State.PENDING, Publication.State.UPLOADING)
        assert publication.attempts == 0
        assert publication.next_run_at > timezone.now() + timedelta(minutes=30)  # waiting, not retrying
    assert Connection.objects.get().status == "needs_reauth"
    status = get_breaker("x").status()
    assert not DeadLetter.objects.exists() and (status.state, status.fail_counter) == ("closed", 0)
    assert not SandboxPost.objects.exists()

    # Reconnect from the admin: the publications are woken at once, and each is published once.
    start = admin_client.post(reverse("admin:connections_connection_reconnect", args=[connection.pk]))
    back = urlsplit(consent(start["Location"], account="Early Bird"))
    admin_client.get(f"{back.path}?{back.query}")
    for publication in (first, second):
        publication.refresh_from_db()
        assert publication.next_run_at <= timezone.now() + timedelta(seconds=1)
        outcomes = run(publication)
        assert publication.state == Publication.State.PUBLISHED, (outcomes, publication.last_error)
        run(publication)  # a stray second run changes nothing
    assert SandboxPost.objects.filter(platform="x").count() == 2
    assert Connection.objects.get().status == "connected"
