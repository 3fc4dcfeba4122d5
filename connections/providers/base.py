"""What every platform's OAuth 2.0 client shares (RFC 6749 authorization code grant, RFC 7636 PKCE).

Each platform module names its documented endpoints as (host, path): the host's base URL comes from
settings.OAUTH_HOSTS, which is the platform's real host in production and the sandbox's prefix for
that host otherwise, so a provider differs from production only in base URL and client credentials.

Errors: a refused grant (RFC 6749 §5.2 `invalid_grant`, a revoked or expired token) is `GrantRefused`,
which means a person has to connect the account again; 5xx and network failures are transient; a 429
is a rate limit. Messages never carry a token: any secret sent in the request is scrubbed from them.
"""

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx
from django.conf import settings

from phantoms.encryption import Secret
from phantoms.resilience.errors import PermanentError, RateLimited, TransientError
from phantoms.resilience.http import pooled_client, retry_after_seconds

# RFC 6749 §5.2 errors that mean this grant (code or refresh token) will never work again.
REFUSED_GRANT_ERRORS = {"invalid_grant", "invalid_token", "access_denied", "unauthorized_client"}


class GrantRefused(PermanentError):
    """The platform refused the code or the refresh token: the account must be connected again."""


@dataclass
class TokenSet:
    access_token: Secret
    refresh_token: Secret = field(default_factory=lambda: Secret(""))
    expires_in: float | None = None
    refresh_expires_in: float | None = None
    scopes: list[str] | None = None  # None: the answer did not say (keep what we had)
    account_id: str = ""


@dataclass
class Account:
    id: str
    name: str


def pkce_pair() -> tuple[str, str]:
    """RFC 7636: a 43-character verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class OAuthProvider:
    platform = ""
    label = ""
    # Where each call goes: (host key in settings.OAUTH_HOSTS[platform], path).
    authorize_endpoint: tuple[str, str] = ("", "")
    token_endpoint: tuple[str, str] = ("", "")
    revoke_endpoint: tuple[str, str] | None = None
    scopes: list[str] = []
    scope_separator = " "
    pkce = False
    # Refresh this long before the access token expires.
    refresh_margin = 300.0

    def __init__(self):
        self.hosts = hosts(self.platform)
        self.client_id, self.client_secret = settings.OAUTH_CLIENTS[self.platform]

    def url(self, endpoint: tuple[str, str]) -> str:
        host, path = endpoint
        return self.hosts[host].rstrip("/") + path

    # --- the authorization request (the browser goes there)
    def authorize_params(self, *, redirect_uri: str, state: str, code_challenge: str) -> dict:
        params = {"client_id": self.client_id, "redirect_uri": redirect_uri, "response_type": "code",
                  "scope": self.scope_separator.join(self.scopes), "state": state}
        if self.pkce:
            params.update(code_challenge=code_challenge, code_challenge_method="S256")
        return params

    def authorize_url(self, **kwargs) -> str:
        return f"{self.url(self.authorize_endpoint)}?{urlencode(self.authorize_params(**kwargs))}"

    def parse_scopes(self, raw) -> list[str] | None:
        if raw is None:
            return None
        if isinstance(raw, list):
            return [str(s) for s in raw]
        return [s for s in str(raw).replace(",", " ").split() if s]

    def missing(self, granted: list[str]) -> list[str]:
        return [scope for scope in self.scopes if scope not in set(granted)]

    # --- what differs per platform
    def exchange(self, *, code: str, redirect_uri: str, code_verifier: str) -> TokenSet:
        raise NotImplementedError

    def refresh(self, access_token: Secret, refresh_token: Secret) -> TokenSet:
        raise NotImplementedError

    def revoke(self, access_token: Secret, refresh_token: Secret) -> bool:
        """Revoke at the platform; False when the platform offers no revocation."""
        return False

    def account(self, access_token: Secret) -> Account:
        raise NotImplementedError

    # --- HTTP, classified, with secrets scrubbed from every message
    def call(self, method: str, url: str, *, secrets_sent=(), **kwargs) -> dict:
        plain = [s.reveal() if isinstance(s, Secret) else str(s) for s in secrets_sent if s]
        try:
            response = pooled_client("").request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            # The exception's text may quote the URL (Instagram puts tokens in the query string).
            raise TransientError(f"could not reach the authorization server ({type(exc).__name__})",
                                 provider=self.platform)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code < 400 and not self.body_error(body):
            return body if isinstance(body, dict) else {}
        code, message = self.describe_error(body, response)
        message = scrub(f"{code}: {message}" if message else code, plain)
        status = response.status_code
        if status == 429:
            raise RateLimited(message, retry_after=retry_after_seconds(response.headers), provider=self.platform,
                              status_code=status)
        if status >= 500:
            raise TransientError(message, provider=self.platform, status_code=status)
        if code in REFUSED_GRANT_ERRORS or status == 401 or self.refused(body):
            raise GrantRefused(message, provider=self.platform, status_code=status)
        raise PermanentError(message, provider=self.platform, status_code=status)

    def body_error(self, body) -> bool:
        return isinstance(body, dict) and isinstance(body.get("error"), str)

    def refused(self, body) -> bool:
        return False

    def describe_error(self, body, response) -> tuple[str, str]:
        if isinstance(body, dict):
            error = body.get("error")
            if isinstance(error, dict):
                return str(error.get("code", response.status_code)), str(error.get("message", ""))
            if error:
                return str(error), str(body.get("error_description", ""))
        return f"HTTP {response.status_code}", response.reason_phrase


def hosts(platform: str) -> dict[str, str]:
    """Base URL per host: as configured, else the sandbox's imitation (sandbox on) or the real host."""
    configured = settings.OAUTH_HOSTS.get(platform, {})
    real = settings.OAUTH_REAL_HOSTS[platform]
    if settings.PHANTOMS_SANDBOX:
        fallback = {host: f"{settings.SANDBOX_URL}/sandbox/oauth/{platform}/{host}" for host in real}
    else:
        fallback = real
    return {host: configured.get(host) or fallback[host] for host in real}


def scrub(text: str, secrets_sent: list[str]) -> str:
    for value in secrets_sent:
        if value:
            text = text.replace(value, "…")
    return text[:500]
