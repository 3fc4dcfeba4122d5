"""TikTok: still on the sandbox's old shared protocol (publishing/platforms/legacy.py) until its own lands."""

from ..legacy import LegacyAdapter


class TikTok(LegacyAdapter):
    name = "tiktok"
