"""One module per platform's authorization server: its documented endpoints, scopes and token shapes."""

from connections.providers.base import OAuthProvider
from connections.providers.instagram import Instagram
from connections.providers.tiktok import TikTok
from connections.providers.x import X
from connections.providers.youtube import YouTube

PROVIDERS: dict[str, type[OAuthProvider]] = {cls.platform: cls for cls in (YouTube, TikTok, Instagram, X)}


def provider_for(platform: str) -> OAuthProvider:
    try:
        return PROVIDERS[platform]()
    except KeyError:
        raise ValueError(f"platform: {platform!r} has no OAuth connection (one of {', '.join(PROVIDERS)})")
