from .base import PlatformClient


class YouTubeClient(PlatformClient):
    """YouTube Shorts: a 100-character title; #Shorts in the description files it as a Short."""

    platform = "youtube"
    title_limit = 100
    caption_limit = 5000

    def caption(self, script: dict) -> str:
        caption = super().caption(script)
        return caption if "#shorts" in caption.lower() else self._fit(f"{caption} #Shorts", self.caption_limit)
