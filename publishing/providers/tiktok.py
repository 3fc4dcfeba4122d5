from .base import PlatformClient


class TikTokClient(PlatformClient):
    """TikTok: the caption carries the title; 2200 characters in all."""

    platform = "tiktok"
    caption_limit = 2200

    def caption(self, script: dict) -> str:
        tags = " ".join(script.get("hashtags", []))
        return self._fit(f"{script.get('title', '')} {tags}".strip(), self.caption_limit)
