"""Connecting channels to platform accounts and keeping their tokens fresh.

- `start_authorization` / `complete_authorization`: the OAuth 2.0 authorization-code flow the admin
  runs ("Connect", "Reconnect"): state checked and single-use, PKCE where the platform takes it, the
  granted scopes compared with those asked for, the account read from the platform.
- `access_token` / `on_unauthorized`: what platform adapters call (through
  publishing/platforms/credentials.py). A token about to expire is refreshed first; a 401 forces one
  refresh. Refreshes of one connection are serialised by a Redis lock and written only if nobody
  refreshed meanwhile (`generation`), so concurrent workers refresh once. A refresh the platform
  refuses marks the connection `needs_reauth`; its publications then wait (`AwaitingReconnect`)
  until a person reconnects it, which wakes them.
- `disconnect`: revoke at the platform where it has a revocation endpoint, then delete here.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from redis.exceptions import LockError

from accounts import scoping
from accounts.models import AuditEvent
from accounts.services import audit
from connections.errors import AwaitingReconnect, ConnectError
from connections.models import AuthorizationRequest, Connection
from connections.providers import PROVIDERS, provider_for
from connections.providers.base import TokenSet, pkce_pair
from connections.selectors import connected_accounts
from phantoms.encryption import Secret
from phantoms.engine.queueing import enqueue_on_commit
from phantoms.engine.registry import get_stage
from phantoms.redis import get_redis
from phantoms.resilience.errors import NotReady, PermanentError, ProviderError
from publishing.models import Channel, Publication
from publishing.services import save_channel

logger = logging.getLogger(__name__)

# How long one refresh may hold a connection's lock, and how long another worker waits for it.
REFRESH_LOCK_SECONDS = 60
REFRESH_WAIT_SECONDS = 30
# A 401 on a token younger than this is not an expiry: refreshing again would loop.
FRESH_TOKEN_SECONDS = 60


# --- connecting ---------------------------------------------------------------------------------

def start_authorization(platform: str, *, user, redirect_uri: str, team_id: int | None = None,
                        channel: Channel | None = None) -> str:
    """Remember a new authorization request and return the platform URL the browser goes to."""
    provider = provider_for(platform)
    if channel is not None:
        team_id = channel.team_id
        if channel.platform != platform:
            raise ConnectError("platform", f"channel {channel} is on {channel.platform}, not {platform}")
    if team_id is None:
        team_id = scoping.home_team(user)
    if team_id is None:
        raise ConnectError("team", "choose the team this channel is for")
    if not scoping.in_team(user, team_id):
        raise ConnectError("team", "you may connect channels only for your own teams")
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(32)
    AuthorizationRequest.objects.create(platform=platform, state=state, code_verifier=Secret(verifier),
                                        redirect_uri=redirect_uri, scopes=provider.scopes, user=user,
                                        team_id=team_id, channel=channel)
    return provider.authorize_url(redirect_uri=redirect_uri, state=state, code_challenge=challenge)


@dataclass
class Connected:
    channel: Channel
    connection: Connection
    created: bool
    missing_scopes: list[str]
    resumed: int


def complete_authorization(platform: str, *, user, params) -> Connected:
    """The platform sent the browser back: check `state`, exchange the code, read the account, store it."""
    provider = provider_for(platform)
    state = params.get("state") or ""
    now = timezone.now()
    with transaction.atomic():
        request = (AuthorizationRequest.objects.select_for_update()
                   .filter(state=state, platform=platform, user=user).first() if state else None)
        if request is None:
            raise ConnectError("state", "does not match any connect request you started here; start again")
        if request.used_at is not None:
            raise ConnectError("state", "this connect request was already completed; start again")
        if (now - request.created_at).total_seconds() > settings.OAUTH_AUTHORIZATION_TIMEOUT:
            raise ConnectError("state", "this connect request expired; start again")
        request.used_at = now
        request.save(update_fields=["used_at"])
    if params.get("error"):
        description = params.get("error_description") or ""
        raise ConnectError("authorization", f"{provider.label} answered {params.get('error')}"
                                            f"{': ' + description[:200] if description else ''}")
    code = params.get("code") or ""
    if not code:
        raise ConnectError("code", f"{provider.label} sent no authorization code")
    try:
        tokens = provider.exchange(code=code, redirect_uri=request.redirect_uri,
                                   code_verifier=request.code_verifier.reveal())
        account = provider.account(tokens.access_token)
    except PermanentError as exc:
        raise ConnectError("code", f"{provider.label} refused it: {exc.message}")
    except NotReady as exc:
        raise ConnectError("platform", f"{provider.label} did not answer: {exc.message}")
    except (ValueError, KeyError) as exc:
        raise ConnectError("account", f"{provider.label} did not say which account this is ({exc})")
    except Exception as exc:  # transient: the person simply tries again
        raise ConnectError("platform", f"{provider.label} could not be reached ({type(exc).__name__}); try again")
    granted = tokens.scopes if tokens.scopes is not None else list(provider.scopes)
    missing = provider.missing(granted)
    if request.channel_id is not None and request.channel.account_id != account.id:
        _revoke_quietly(provider, tokens)
        raise ConnectError("account", f"this channel is {provider.label} account {request.channel.account_id}, but "
                                      f"the platform connected {account.id} ({account.name}); sign in as the "
                                      "channel's account")
    return _store(provider, request, tokens, account, granted, missing, user)


def _store(provider, request, tokens: TokenSet, account, granted, missing, user) -> Connected:
    with transaction.atomic():
        channel = request.channel or Channel.objects.filter(platform=provider.platform, account_id=account.id).first()
        created = channel is None
        if created:
            channel = Channel(team_id=request.team_id, platform=provider.platform, name=account.name[:100],
                              account_id=account.id)
            save_channel(channel, changed=[], user=user)
        elif not scoping.in_team(user, channel.team_id):
            raise ConnectError("account", f"{provider.label} account {account.id} belongs to another team's channel")
        elif not channel.is_active:
            channel.is_active = True
            save_channel(channel, changed=["is_active"], user=user)
        connection = Connection.objects.select_for_update().filter(channel=channel).first() or Connection(
            channel=channel)
        was = connection.status if connection.pk else None
        _apply(connection, tokens)
        connection.status = Connection.Status.CONNECTED
        connection.scopes = granted
        connection.missing_scopes = missing
        connection.last_error = ""
        connection.refreshed_at = timezone.now()
        connection.generation = (connection.generation or 0) + 1
        connection.save()
        if not created:
            audit.record(AuditEvent.Action.CHANNEL_CONNECTED, actor=user, target=channel,
                         summary=f"reconnected {channel}" if was else f"connected {channel}",
                         fields=["connection"], missing_scopes=missing)
        resumed = _wake_publications(channel)
    return Connected(channel=channel, connection=connection, created=created, missing_scopes=missing,
                     resumed=resumed)


def store_tokens(channel: Channel, tokens: TokenSet) -> Connection:
    """Keep tokens obtained outside the admin's flow (the demo's sandbox accounts, fixtures) for a channel."""
    provider = provider_for(channel.platform)
    with transaction.atomic():
        connection = Connection.objects.select_for_update().filter(channel=channel).first() or Connection(
            channel=channel)
        _apply(connection, tokens)
        granted = tokens.scopes if tokens.scopes is not None else list(provider.scopes)
        connection.scopes, connection.missing_scopes = granted, provider.missing(granted)
        connection.status, connection.last_error = Connection.Status.CONNECTED, ""
        connection.refreshed_at = timezone.now()
        connection.generation = (connection.generation or 0) + 1
        connection.save()
        _wake_publications(channel)
    return connection


def _apply(connection: Connection, tokens: TokenSet):
    now = timezone.now()
    connection.access_token = tokens.access_token
    if tokens.refresh_token:
        # A platform that does not rotate refresh tokens sends none on refresh: keep the one we have.
        connection.refresh_token = tokens.refresh_token
    connection.expires_at = now + timedelta(seconds=float(tokens.expires_in)) if tokens.expires_in else None
    if tokens.refresh_expires_in:
        connection.refresh_expires_at = now + timedelta(seconds=float(tokens.refresh_expires_in))
    if tokens.scopes is not None:
        connection.scopes = tokens.scopes


def _wake_publications(channel: Channel) -> int:
    """Publications of this channel waiting in a stage (paused while it needed reconnecting) run now."""
    woken = 0
    waiting = Publication.objects.filter(channel=channel, state__in=list(Publication.STAGE_FOR_STATE),
                                         lease_owner="")
    for publication in waiting.only("pk", "state"):
        enqueue_on_commit(get_stage(publication.current_stage), publication.pk)
        woken += 1
    return woken


def _revoke_quietly(provider, tokens: TokenSet):
    try:
        provider.revoke(tokens.access_token, tokens.refresh_token)
    except Exception as exc:
        logger.warning("%s: could not revoke tokens of a refused connection: %s", provider.platform,
                       type(exc).__name__)


# --- fresh tokens --------------------------------------------------------------------------------

def _expiring(connection: Connection, margin: float) -> bool:
    return connection.expires_at is not None and connection.expires_at - timezone.now() <= timedelta(seconds=margin)


def _connection(channel) -> Connection:
    connection = Connection.objects.select_related("channel").filter(channel_id=channel.pk).first()
    if connection is None:
        raise AwaitingReconnect(f"{channel} is not connected to its account: connect it in the admin "
                                "(Connected accounts)", provider=channel.platform)
    if connection.status == Connection.Status.NEEDS_REAUTH:
        raise AwaitingReconnect(f"{channel} needs reconnecting: {connection.last_error or 'the platform refused it'}",
                                provider=channel.platform)
    return connection


def _margin(platform: str) -> float:
    # A platform without an OAuth provider here (a token put in by other means) is never refreshed early.
    provider = PROVIDERS.get(platform)
    return provider.refresh_margin if provider else 0.0


def access_token(channel) -> str:
    """A usable access token for the channel's account, refreshed first if it is about to expire."""
    connection = _connection(channel)
    if _expiring(connection, _margin(connection.channel.platform)):
        connection = refresh(connection.pk, seen_generation=connection.generation)
    # Which token the adapter holds: a 401 on it forces a refresh only if nobody refreshed since.
    channel._phantoms_token_generation = connection.generation
    return connection.access_token.reveal()


def on_unauthorized(channel, message: str = "") -> None:
    """The platform answered 401 to the channel's token: refresh it once, and have the job try again.

    Always raises: `NotReady` (retry at once with the refreshed token: a 401 means the call did
    nothing, so repeating it is safe), or `AwaitingReconnect` when the platform refuses the refresh,
    or refuses a token it has just issued (the channel then needs a person).
    """
    connection = _connection(channel)
    platform = connection.channel.platform
    label = PROVIDERS[platform].label if platform in PROVIDERS else platform
    seen = getattr(channel, "_phantoms_token_generation", connection.generation)
    issued = connection.refreshed_at or connection.connected_at
    if seen == connection.generation and timezone.now() - issued < timedelta(seconds=FRESH_TOKEN_SECONDS):
        reason = f"{label} refused a token issued {int((timezone.now() - issued).total_seconds())} s ago"
        mark_needs_reauth(connection.pk, reason=f"{reason}: {message}"[:1000] if message else reason)
        raise AwaitingReconnect(f"{channel} needs reconnecting: {reason}", provider=channel.platform)
    refresh(connection.pk, seen_generation=seen, force=True)
    raise NotReady(f"{label} refused the access token (401); it was refreshed, trying again",
                   retry_after=1, provider=channel.platform, status_code=401)


def refresh(connection_id: int, *, seen_generation: int, force: bool = False) -> Connection:
    """Refresh one connection's tokens, once however many workers ask at the same moment."""
    lock = get_redis().lock(f"phantoms:connections:refresh:{connection_id}", timeout=REFRESH_LOCK_SECONDS,
                            blocking_timeout=REFRESH_WAIT_SECONDS)
    try:
        acquired = lock.acquire()
    except LockError:
        acquired = False
    if not acquired:
        raise NotReady("another worker is refreshing this channel's token", retry_after=5)
    try:
        return _refresh_locked(connection_id, seen_generation, force)
    finally:
        try:
            lock.release()
        except LockError:
            pass  # it expired (a very slow platform); the generation check kept the write safe


def _refresh_locked(connection_id: int, seen_generation: int, force: bool) -> Connection:
    connection = Connection.objects.select_related("channel").get(pk=connection_id)
    channel = connection.channel
    if connection.status == Connection.Status.NEEDS_REAUTH:
        raise AwaitingReconnect(f"{channel} needs reconnecting: {connection.last_error}", provider=channel.platform)
    margin = _margin(channel.platform)
    if connection.generation != seen_generation and not _expiring(connection, margin):
        return connection  # another worker refreshed while we waited for the lock
    if not force and not _expiring(connection, margin):
        return connection
    if channel.platform not in PROVIDERS:
        mark_needs_reauth(connection.pk, reason=f"{channel.platform} has no OAuth connection to refresh with",
                          generation=connection.generation)
        raise AwaitingReconnect(f"{channel} needs a new token: {channel.platform} cannot be refreshed here",
                                provider=channel.platform)
    provider = provider_for(channel.platform)
    try:
        tokens = provider.refresh(connection.access_token, connection.refresh_token)
    except PermanentError as exc:
        # A refused refresh token (revoked, expired, a 4xx of any kind): only a person can fix it.
        mark_needs_reauth(connection.pk, reason=exc.message, generation=connection.generation)
        raise AwaitingReconnect(f"{channel} needs reconnecting: {provider.label} refused to refresh its token "
                                f"({exc.message})", provider=channel.platform)
    _apply(connection, tokens)
    updated = Connection.objects.filter(pk=connection.pk, generation=connection.generation).update(
        access_token=connection.access_token, refresh_token=connection.refresh_token,
        expires_at=connection.expires_at, refresh_expires_at=connection.refresh_expires_at,
        scopes=connection.scopes, refreshed_at=timezone.now(), last_error="", generation=F("generation") + 1)
    if not updated:
        logger.warning("connection %s: refreshed while another worker also did (lock lost)", connection.pk)
    logger.info("connection %s (%s): access token refreshed", connection.pk, channel.platform)
    return Connection.objects.select_related("channel").get(pk=connection.pk)


def mark_needs_reauth(connection_id: int, *, reason: str, generation: int | None = None) -> bool:
    """The connection needs a person; its publications wait from their next run on."""
    rows = Connection.objects.filter(pk=connection_id)
    if generation is not None:
        rows = rows.filter(generation=generation)
    changed = rows.exclude(status=Connection.Status.NEEDS_REAUTH).update(
        status=Connection.Status.NEEDS_REAUTH, last_error=reason[:1000])
    if changed:
        logger.warning("connection %s needs reconnecting: %s", connection_id, reason[:200])
    return bool(changed)


# --- keeping idle connections alive -------------------------------------------------------------

# Instagram refreshes only a long-lived token at least a day old; no platform needs more than one
# keep-alive refresh a day.
KEEPALIVE_MIN_AGE = timedelta(days=1)


def keepalive_reason(connection: Connection, now, *, margin: timedelta, idle: timedelta) -> str | None:
    """Why an idle connection must be refreshed now to stay usable, or None.

    Refreshing on use (`access_token`) cannot save a channel that posts rarely: an Instagram
    long-lived token, the only credential there, cannot be refreshed once it has expired (about 60
    days); TikTok's refresh token ends after about a year (`refresh_expires_in`); Google stops
    honouring a refresh token left unused for six months (docs/platforms.md, "Tokens"), and X gives
    no lifetime for its refresh tokens.
    """
    last = connection.refreshed_at or connection.connected_at
    if now - last < KEEPALIVE_MIN_AGE:
        return None
    if not connection.refresh_token and connection.expires_at is not None and connection.expires_at - now <= margin:
        return f"its access token ends {connection.expires_at:%Y-%m-%d %H:%M} UTC"
    if connection.refresh_expires_at is not None and connection.refresh_expires_at - now <= margin:
        return f"its refresh token ends {connection.refresh_expires_at:%Y-%m-%d %H:%M} UTC"
    if connection.refresh_token and now - last >= idle:
        return f"its refresh token has not been used for {(now - last).days} days"
    return None


def keep_idle_connections_alive(now=None) -> dict[str, int]:
    """Refresh every connection that would otherwise lapse before its channel posts again.

    A refresh the platform refuses marks the connection `needs_reauth` now, weeks before a post would
    have found out; one that cannot reach the platform is tried again on the next pass.
    """
    now = now or timezone.now()
    margin = timedelta(days=settings.CONNECTIONS_KEEPALIVE_MARGIN_DAYS)
    idle = timedelta(days=settings.CONNECTIONS_IDLE_REFRESH_DAYS)
    counts = {"refreshed": 0, "needs_reauth": 0, "retry_later": 0}
    for connection in connected_accounts():
        reason = keepalive_reason(connection, now, margin=margin, idle=idle)
        if reason is None:
            continue
        try:
            refresh(connection.pk, seen_generation=connection.generation, force=True)
        except AwaitingReconnect as exc:
            counts["needs_reauth"] += 1
            logger.warning("connection %s (%s): could not be kept alive: %s", connection.pk,
                           connection.channel.platform, exc)
            continue
        except ProviderError as exc:  # unreachable, rate-limited, or another worker holds the lock
            counts["retry_later"] += 1
            logger.warning("connection %s (%s): keep-alive refresh failed, next pass tries again: %s",
                           connection.pk, connection.channel.platform, exc)
            continue
        counts["refreshed"] += 1
        logger.info("connection %s (%s): refreshed while idle, because %s", connection.pk,
                    connection.channel.platform, reason)
    return counts


# --- disconnecting --------------------------------------------------------------------------------

def disconnect(connection_id: int, *, user) -> str:
    """Revoke the tokens at the platform (where it can), delete them here, and retire the channel.

    A channel with publications is deactivated (its history stays); one without is deleted.
    Says what happened.
    """
    connection = Connection.objects.select_related("channel").get(pk=connection_id)
    channel = connection.channel
    if not scoping.in_team(user, channel.team_id):
        raise ConnectError("channel", "you may disconnect only your own teams' channels")
    provider = provider_for(channel.platform)
    try:
        revoked = provider.revoke(connection.access_token, connection.refresh_token)
    except PermanentError:
        revoked = True  # the platform no longer knows these tokens: nothing left to revoke
    except Exception as exc:
        raise ConnectError("platform", f"{provider.label} could not be reached to revoke the token "
                                       f"({type(exc).__name__}); nothing was deleted, try again")
    with transaction.atomic():
        Connection.objects.filter(pk=connection.pk).delete()
        audit.record(AuditEvent.Action.TOKEN_REVOKED, actor=user, target=channel,
                     summary=f"disconnected {channel}" + (" (revoked at the platform)" if revoked else ""),
                     revoked_at_platform=revoked)
        if Publication.objects.filter(channel=channel).exists():
            channel.is_active = False
            save_channel(channel, changed=["is_active"], user=user)
            outcome = "deactivated (it has publications)"
        else:
            channel.delete()
            outcome = "deleted"
    how = "revoked at the platform and deleted" if revoked else f"deleted ({provider.label} has no revocation)"
    return f"{channel}: tokens {how}; channel {outcome}"


def platforms() -> list[tuple[str, str]]:
    return [(name, cls.label) for name, cls in PROVIDERS.items()]
