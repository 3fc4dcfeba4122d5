from .base import PlatformClient


class XClient(PlatformClient):
    """X: 280 characters, hashtags included; rate limits come as `x-rate-limit-reset`."""

    platform = "x"
    caption_limit = 280

    def caption(self, script: dict) -> str:
        tags = " ".join(script.get("hashtags", [])[:3])
        room = self.caption_limit - len(tags) - 1
        return f"{self._fit(script.get('title', ''), room)} {tags}".strip()
