"""The one platform list (docs/platforms.md, "The registry").

Every place that needs to know which platforms exist asks here: the Channel's platform choices,
base URLs, breakers, our own rate limits, the demo and chaos channels, the sandbox's prefixes. A new
platform is one package under `publishing/platforms/` plus one `register(...)` line at the bottom of
this module.

This module imports no model and no HTTP code, so that settings can read the names from it.
"""

from dataclasses import dataclass


class UnknownPlatform(KeyError):
    def __str__(self):
        return f"platform {self.args[0]!r} is not registered; registered: {', '.join(names())}"


@dataclass(frozen=True)
class Registration:
    name: str
    label: str
    # Dotted path to the Adapter subclass, imported on first use (settings read this module).
    adapter: str
    # The platform's documented API host; the sandbox serves the same paths under its own prefix.
    production_url: str
    # Our own pacing per account, before the platform's limits: (calls, per seconds).
    rate_limit: tuple[int, int] = (60, 60)


_registry: dict[str, Registration] = {}


def register(name: str, label: str, adapter: str, *, production_url: str,
             rate_limit: tuple[int, int] = (60, 60)) -> Registration:
    if not name.isidentifier() or name != name.lower():
        raise ValueError(f"platform name {name!r}: lower-case letters, digits and underscores only")
    registration = Registration(name, label, adapter, production_url.rstrip("/"), rate_limit)
    _registry[name] = registration
    return registration


def unregister(name: str) -> None:
    _registry.pop(name, None)


def names() -> list[str]:
    return list(_registry)


def get(name: str) -> Registration:
    try:
        return _registry[name]
    except KeyError:
        raise UnknownPlatform(name) from None


def choices() -> list[tuple[str, str]]:
    """Channel.platform's choices (a callable, so a registration needs no migration)."""
    return [(entry.name, entry.label) for entry in _registry.values()]


def label(name: str) -> str:
    return get(name).label


# --- The platforms. One line each.
register("youtube", "YouTube", "publishing.platforms.youtube.YouTube",
         production_url="https://www.googleapis.com", rate_limit=(60, 60))
register("tiktok", "TikTok", "publishing.platforms.tiktok.TikTok",
         production_url="https://open.tiktokapis.com", rate_limit=(6, 60))
register("instagram", "Instagram", "publishing.platforms.instagram.Instagram",
         production_url="https://graph.instagram.com", rate_limit=(50, 86400))
register("x", "X", "publishing.platforms.x.X",
         production_url="https://api.x.com", rate_limit=(50, 900))
