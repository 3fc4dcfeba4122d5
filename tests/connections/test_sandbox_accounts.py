"""The demo's, chaos run's and benchmark's channels get sandbox accounts with real, expiring tokens."""

import pytest

from connections.models import Connection
from ops.sandbox_accounts import connect_sandbox_account
from sandbox.oauth import store
from tests.factories import make_channel

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("platform", ["youtube", "tiktok", "instagram", "x"])
def test_a_demo_channel_gets_a_sandbox_account_with_expiring_tokens(platform):
    channel = make_channel(platform, access_token="", account_id=f"demo-{platform}")
    connection = connect_sandbox_account(channel)
    assert connection.status == "connected" and connection.expires_at is not None
    assert connection.missing_scopes == []
    grant = store.bearer_grant(platform, connection.access_token.reveal())
    assert grant is not None and grant.account_id == f"demo-{platform}"
    assert bool(connection.refresh_token) == (platform != "instagram")
    # Running the demo again keeps the connection it has.
    assert connect_sandbox_account(channel).pk == connection.pk and Connection.objects.count() == 1
