"""The single way an adapter gets a bearer token, and the single thing it does on a 401.

Both bodies are meant to be replaced by the OAuth flow (refresh tokens, per-platform token
endpoints); every adapter calls only these two functions, so that change lands here alone.
"""

from django.conf import settings

from phantoms.resilience.errors import ConfigurationError, PermanentError


def access_token(channel) -> str:
    """The channel's current access token.

    Outside the sandbox an empty token is refused before any call is made: a platform would answer
    401 anyway, and sending a placeholder would hide the missing connection.
    """
    token = (channel.access_token or "").strip()
    if token:
        return token
    if settings.PHANTOMS_SANDBOX:
        # The sandbox checks only that a bearer token is present; it has no accounts to connect.
        return f"sandbox-{channel.platform}-{channel.account_id}"
    raise ConfigurationError(
        f"channel {channel.pk} ({channel.platform} account {channel.account_id}) has no access token: "
        "connect the account again", provider=channel.platform)


def on_unauthorized(channel, message: str = "") -> None:
    """The platform refused the token (HTTP 401). For now: a permanent failure naming the channel."""
    detail = f": {message}" if message else ""
    raise PermanentError(f"the platform refused the access token of channel {channel.pk} "
                         f"({channel.platform} account {channel.account_id}){detail}",
                         provider=channel.platform, status_code=401)
