"""Sandbox accounts for the demo's, the chaos run's and the benchmark's channels.

Each channel gets a grant at the sandbox's authorization server for its account and the tokens
that grant issues, stored the way "Connect" stores them (encrypted, with expiry and refresh token),
so these channels expire and refresh like connected ones without anyone clicking through a consent
page. A person connecting an account in the admin goes through the real flow instead.
"""

from django.conf import settings

from connections.models import Connection
from connections.providers import provider_for
from connections.providers.base import TokenSet
from connections.services import store_tokens
from phantoms.encryption import Secret
from sandbox.oauth.models import OAuthGrant
from sandbox.oauth.store import issue_tokens
from sandbox.oauth.views import LIFETIMES


def connect_sandbox_account(channel) -> Connection:
    existing = Connection.objects.filter(channel=channel, status=Connection.Status.CONNECTED).first()
    if existing is not None:
        return existing
    provider = provider_for(channel.platform)
    grant = OAuthGrant.objects.create(platform=channel.platform, client_id=settings.OAUTH_CLIENTS[channel.platform][0],
                                      account_id=channel.account_id, account_name=channel.name,
                                      scopes=list(provider.scopes), redirect_uri="")
    access_seconds, refresh_seconds = LIFETIMES[channel.platform]
    # Instagram's long-lived token refreshes itself; the others come with a refresh token.
    access, refresh = issue_tokens(grant, access_seconds=access_seconds, refresh_seconds=refresh_seconds,
                                   with_refresh=channel.platform != "instagram")
    return store_tokens(channel, TokenSet(
        access_token=Secret(access.value), refresh_token=Secret(refresh.value if refresh else ""),
        expires_in=access_seconds, refresh_expires_in=refresh_seconds, scopes=list(provider.scopes)))
