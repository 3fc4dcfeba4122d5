"""Instagram: Reels through the Instagram Graph API's content publishing (see adapter.py)."""

from .adapter import Instagram

__all__ = ["Instagram"]
