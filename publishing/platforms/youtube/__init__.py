"""YouTube: still on the sandbox's old shared protocol (publishing/platforms/legacy.py) until its own lands."""

from ..legacy import LegacyAdapter


class YouTube(LegacyAdapter):
    name = "youtube"
