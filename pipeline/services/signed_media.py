"""Signed media links live in phantoms/signed_media.py: publishing (Instagram's video_url) signs them too."""

from phantoms.signed_media import SALT, LinkError, media_name, resolve, signed_url

__all__ = ["SALT", "LinkError", "media_name", "resolve", "signed_url"]
