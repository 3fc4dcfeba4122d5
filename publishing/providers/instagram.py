from .base import PlatformClient


class InstagramClient(PlatformClient):
    """Instagram Reels: 2200-character caption, at most 30 hashtags."""

    platform = "instagram"
    caption_limit = 2200
    max_hashtags = 30

    def caption(self, script: dict) -> str:
        tags = " ".join(script.get("hashtags", [])[: self.max_hashtags])
        return self._fit(f"{script.get('description', '')}\n\n{tags}".strip(), self.caption_limit)
