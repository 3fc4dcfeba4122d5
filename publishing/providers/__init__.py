"""Kept for analytics' metric readback until it calls `publishing.platforms.adapter_for` itself."""

from publishing.platforms import adapter_for as get_platform_client

__all__ = ["get_platform_client"]
