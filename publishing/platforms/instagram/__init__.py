"""Instagram: still on the sandbox's old shared protocol (publishing/platforms/legacy.py) until its own lands."""

from ..legacy import LegacyAdapter


class Instagram(LegacyAdapter):
    """Instagram Reels: a 2,200-character caption with at most 30 hashtags."""

    name = "instagram"
    caption_limit = 2200
    max_hashtags = 30
