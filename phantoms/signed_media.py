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
from django.utils.http import RFC3986_SUBDELIMS

SALT = "phantoms.signed-media"
PCHAR = RFC3986_SUBDELIMS + "/~:@"  # what reverse() leaves unquoted in a link


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


class PageSigner:
    """Signed links for many stored media names at once (a page of the API's list), the same links
    `signed_url` gives.

    The link's URL pattern is reversed once, and a stored name that is a plain relative path
    ("assets/12/video.mp4": no empty, "." or ".." part, not absolute) is signed as it is:
    `signed_url` resolves the path on disk twice (symlinks, `..`) and reverses the URL for every
    file, which made 500 links a quarter of a list request. Any other name takes `signed_url`'s way.
    Serving (`resolve`) still resolves the path and refuses anything outside MEDIA_ROOT, whichever
    way the link was made.
    """

    _TOKEN, _FILE = "token0", "file0"  # placeholders the URL pattern accepts and quoting leaves alone

    def __init__(self, *, base: str):
        self.base = base
        self.root = Path(settings.MEDIA_ROOT)
        pattern = base.rstrip("/") + reverse("signed-media", args=[self._TOKEN, self._FILE])
        self.head, rest = pattern.split(self._TOKEN, 1)
        self.middle, self.tail = rest.split(self._FILE, 1)

    @staticmethod
    def _plain(name: str) -> bool:
        return (not name.startswith("/") and "\\" not in name and "\x00" not in name
                and all(part not in ("", ".", "..") for part in name.split("/")))

    def url(self, name: str) -> str | None:
        """A link to the file stored as `name` (relative to MEDIA_ROOT), or None for no file."""
        if not name:
            return None
        if not self._plain(name):
            return signed_url(self.root / name, base=self.base)
        token = signing.dumps(name, salt=SALT, compress=True)
        filename = quote(name.rsplit("/", 1)[-1])
        # As reverse() quotes a link's arguments (RFC 3986 pchar), so the link is the same string; the
        # token (URL-safe base64, ":" and ".") has nothing to quote.
        return self.head + token + self.middle + quote(filename, safe=PCHAR) + self.tail


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
