"""Platform packages: one per platform, each owning its whole protocol (docs/platforms.md).

`adapter_for(channel)` is how the rest of Phantoms reaches a platform; `names()` and `get(name)`
read the one platform list in `registry.py`.
"""

from django.conf import settings
from django.utils.module_loading import import_string

from .registry import Registration, UnknownPlatform, choices, get, label, names, register, unregister

__all__ = ["Registration", "UnknownPlatform", "adapter_class", "adapter_for", "base_url", "choices", "get",
           "label", "names", "register", "unregister"]


def base_url(name: str) -> str:
    """Where a platform's API is: an explicit setting, else the sandbox's prefix when the sandbox is on,
    else the platform's documented host. The adapter differs from production only in this and the token."""
    explicit = settings.PLATFORM_BASE_URLS.get(name)
    if explicit:
        return explicit.rstrip("/")
    if settings.PHANTOMS_SANDBOX:
        return f"{settings.SANDBOX_URL}/sandbox/platforms/{name}"
    return get(name).production_url


def adapter_class(name: str):
    return import_string(get(name).adapter)


def adapter_for(channel, **kwargs):
    """The adapter that speaks this channel's platform, holding the channel (its account and token)."""
    return adapter_class(channel.platform)(channel, **kwargs)
