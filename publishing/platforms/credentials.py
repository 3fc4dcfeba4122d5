"""The single way an adapter gets a bearer token, and the single thing it does on a 401.

Connected accounts (`connections/`) answers both: it keeps each channel's OAuth tokens encrypted,
refreshes them before they expire, and marks a channel `needs_reauth` when the platform refuses a
refresh. It sits above publishing (it creates channels and wakes their publications), so it
registers itself here when its app loads (`connections.apps`), as stages register with the engine,
and publishing imports nothing above it.
"""

from phantoms.resilience.errors import ConfigurationError, PermanentError

_source = None


def use(source) -> None:
    """Install the token source: an object with `access_token(channel)` and `on_unauthorized(channel, message)`."""
    global _source
    _source = source


def _installed():
    if _source is None:
        raise ConfigurationError("no token source: the connections app is not installed (INSTALLED_APPS)")
    return _source


def access_token(channel) -> str:
    """A usable access token for the channel's account, refreshed first if it is about to expire.

    A channel that needs a person (never connected, or the platform refused a refresh) raises a
    wait: its publication is deferred until the channel is reconnected, never failed.
    """
    return _installed().access_token(channel)


def on_unauthorized(channel, message: str = "") -> None:
    """The platform answered 401: refresh the token once and run the job again (a wait), or, when the
    platform refuses that too, mark the channel needs_reauth (its publications wait for a person)."""
    _installed().on_unauthorized(channel, message)
    # A source must raise; should one return, the 401 is still not taken as success.
    raise PermanentError(f"the platform refused the access token of channel {channel.pk}",
                         provider=channel.platform, status_code=401)
