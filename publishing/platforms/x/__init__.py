"""X: a video post through the X API v2 (see adapter.py)."""

from .adapter import X

__all__ = ["X"]
