"""Grant, code and token bookkeeping shared by the four imitated authorization servers (RFC 6749).

Codes are single-use and short-lived; a code presented twice is refused and, as RFC 6749 §4.1.2
advises, every token issued from it is revoked. Access tokens expire; refresh tokens expire where
the platform says so and are rotated where the platform rotates them.
"""

import base64
import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from sandbox.oauth.models import OAuthGrant, OAuthToken

CODE_SECONDS = 600


class OAuthFault(Exception):
    """An RFC 6749 §5.2 error: `error` code and a description for `error_description`."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def account_id_for(platform: str, name: str) -> str:
    """The same display name is the same sandbox account (so reconnecting finds the same channel)."""
    digest = hashlib.sha256(f"{platform}:{name.strip().lower()}".encode()).hexdigest()
    prefix = {"youtube": "UC", "tiktok": "tt-", "instagram": "1784", "x": ""}.get(platform, "")
    digits = str(int(digest[:15], 16)) if platform in ("instagram", "x") else digest[:22]
    return f"{prefix}{digits}"


def _issue(grant: OAuthGrant, kind: str, seconds: float | None, prefix: str) -> OAuthToken:
    expires = timezone.now() + timedelta(seconds=seconds) if seconds else None
    return OAuthToken.objects.create(grant=grant, kind=kind, value=f"{prefix}{secrets.token_urlsafe(32)}",
                                     expires_at=expires)


def issue_code(*, platform, client_id, redirect_uri, scopes, account_name, code_challenge="") -> str:
    grant = OAuthGrant.objects.create(platform=platform, client_id=client_id, redirect_uri=redirect_uri,
                                      scopes=scopes, account_name=account_name,
                                      account_id=account_id_for(platform, account_name),
                                      code_challenge=code_challenge)
    return _issue(grant, OAuthToken.Kind.CODE, CODE_SECONDS, "code-").value


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def redeem_code(*, platform, client_id, code, redirect_uri, code_verifier=None) -> OAuthGrant:
    now = timezone.now()
    with transaction.atomic():
        token = (OAuthToken.objects.select_for_update().select_related("grant")
                 .filter(value=code, kind=OAuthToken.Kind.CODE, grant__platform=platform).first())
        if token is None:
            raise OAuthFault("invalid_grant", "The authorization code is invalid.")
        grant = token.grant
        replayed = token.spent_at is not None
        if not replayed:
            token.spent_at = now
            token.save(update_fields=["spent_at"])
    if replayed:
        # A replayed code: refuse it and revoke what it was exchanged for.
        revoke_grant(grant)
        raise OAuthFault("invalid_grant", "The authorization code has already been used.")
    if grant.revoked_at or (token.expires_at and token.expires_at <= now):
        raise OAuthFault("invalid_grant", "The authorization code has expired.")
    if grant.client_id != client_id:
        raise OAuthFault("invalid_grant", "The authorization code was issued to another client.")
    if redirect_uri is not None and grant.redirect_uri != redirect_uri:
        raise OAuthFault("invalid_grant", "redirect_uri does not match the one of the authorization request.")
    if grant.code_challenge:
        if not code_verifier:
            raise OAuthFault("invalid_request", "Missing required parameter: code_verifier.")
        if s256(code_verifier) != grant.code_challenge:
            raise OAuthFault("invalid_grant", "code_verifier does not match the code_challenge.")
    return grant


def issue_tokens(grant: OAuthGrant, *, access_seconds: float, refresh_seconds: float | None = None,
                 with_refresh: bool = True, prefix: str = "") -> tuple[OAuthToken, OAuthToken | None]:
    access = _issue(grant, OAuthToken.Kind.ACCESS, access_seconds, f"{prefix}at-")
    refresh = _issue(grant, OAuthToken.Kind.REFRESH, refresh_seconds, f"{prefix}rt-") if with_refresh else None
    return access, refresh


def use_refresh_token(*, platform, client_id, value, rotate: bool) -> tuple[OAuthGrant, OAuthToken]:
    now = timezone.now()
    with transaction.atomic():
        token = (OAuthToken.objects.select_for_update().select_related("grant")
                 .filter(value=value, kind=OAuthToken.Kind.REFRESH, grant__platform=platform).first())
        if token is None or token.spent_at is not None or token.grant.revoked_at is not None:
            raise OAuthFault("invalid_grant", "The refresh token is invalid or has been revoked.")
        if token.expires_at and token.expires_at <= now:
            raise OAuthFault("invalid_grant", "The refresh token has expired.")
        if token.grant.client_id != client_id:
            raise OAuthFault("invalid_grant", "The refresh token was issued to another client.")
        if rotate:
            token.spent_at = now
            token.save(update_fields=["spent_at"])
    return token.grant, token


def bearer_grant(platform: str, value: str) -> OAuthGrant | None:
    """The grant an access token speaks for, or None when it is unknown, expired or revoked."""
    if not value:
        return None
    token = (OAuthToken.objects.select_related("grant")
             .filter(value=value, kind=OAuthToken.Kind.ACCESS, grant__platform=platform).first())
    if token is None or token.grant.revoked_at is not None:
        return None
    if token.expires_at and token.expires_at <= timezone.now():
        return None
    return token.grant


def find_token(platform: str, value: str) -> OAuthToken | None:
    return (OAuthToken.objects.select_related("grant")
            .filter(value=value, grant__platform=platform).exclude(kind=OAuthToken.Kind.CODE).first())


def revoke_grant(grant: OAuthGrant) -> None:
    if grant.revoked_at is None:
        OAuthGrant.objects.filter(pk=grant.pk).update(revoked_at=timezone.now())
        grant.revoked_at = timezone.now()


def refused(value: str) -> bool:
    """True for an access token this sandbox issued that no longer works (expired, revoked).

    Tokens it never issued (fixtures' "sandbox-token") are not its business: the imitations accept them.
    """
    if not value:
        return False
    token = OAuthToken.objects.select_related("grant").filter(value=value, kind=OAuthToken.Kind.ACCESS).first()
    if token is None:
        return False
    return token.grant.revoked_at is not None or (token.expires_at is not None and token.expires_at <= timezone.now())
