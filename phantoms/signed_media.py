"""Signed, expiring links to our media, for services that fetch our files (a render service, Instagram).

A link names one file under MEDIA_ROOT and carries Django's timestamped signature over that name
(SECRET_KEY, a salt of its own), so it cannot be altered to reach another file and stops working
after SIGNED_MEDIA_MAX_AGE seconds. Only files under MEDIA_ROOT are ever served.
"""

import os
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "phantoms.signed-media"


class LinkError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def media_name(path: str | os.PathLike) -> str:
    """A file's name relative to MEDIA_ROOT; refuses anything outside it."""
    root = Path(settings.MEDIA_ROOT).resolve()
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(root):
        raise ValueError(f"{path} is not under MEDIA_ROOT")
    return resolved.relative_to(root).as_posix()


def signed_url(path: str | os.PathLike, *, base: str) -> str:
    name = media_name(path)
    token = signing.dumps(name, salt=SALT, compress=True)
    return base.rstrip("/") + reverse("signed-media", args=[token, quote(Path(name).name)])


def resolve(token: str, filename: str) -> Path:
    """The file a link names, or LinkError(403/404/410) saying why not."""
    try:
        name = signing.loads(token, salt=SALT, max_age=settings.SIGNED_MEDIA_MAX_AGE)
    except signing.SignatureExpired:
        raise LinkError(410, "this link has expired")
    except signing.BadSignature:
        raise LinkError(403, "this link is not valid")
    if not isinstance(name, str) or Path(name).name != filename:
        raise LinkError(403, "this link is not valid")
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise LinkError(404, "no such file")
    return path
