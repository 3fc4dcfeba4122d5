"""What the platform imitations share: ids, tokens, stored objects and rate-limit windows.

Posts go to the ledger (sandbox.models.SandboxPost) and what a platform keeps for a while (a
container, a media upload) to sandbox.models.SandboxObject: the database, because a platform does not
forget them when our Redis is flushed. Only rate-limit windows and injected-fault choices live in
Redis, under the sandbox's key prefix (a flush resets a window, as a new window would).
"""

import hashlib
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from sandbox import faults
from sandbox.models import SandboxObject
from sandbox.oauth import store as oauth_store


def key(*parts: str) -> str:
    prefix = getattr(settings, "SANDBOX_KEY_PREFIX", faults.DEFAULT_KEY_PREFIX)
    return ":".join([prefix, "state", *parts])


def redis():
    return faults.connection()


def numeric_id() -> str:
    """An id in the shape Graph and X use: a string of 17-19 digits."""
    return str(10**17 + secrets.randbelow(9 * 10**17))


def token_of(request) -> str:
    """The request's token; "" (an imitation then answers 401 in its own shape) for a token the
    sandbox's authorization server issued that has expired or was revoked (sandbox.oauth.store)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        token = token.strip()
    else:
        token = (request.GET.get("access_token") or request.POST.get("access_token") or "").strip()
    return "" if oauth_store.refused(token) else token


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def count_in_window(name: str, subject: str, window: int, now: float | None = None) -> tuple[int, int]:
    """Count one call in a fixed window; returns (calls so far in this window, epoch second it ends)."""
    now = time.time() if now is None else now
    start = int(now // window) * window
    counter = key("window", name, subject, str(start))
    pipe = redis().pipeline()
    pipe.incr(counter)
    pipe.expire(counter, window + 5)
    calls, _ = pipe.execute()
    return int(calls), start + window


def store(platform: str, kind: str, object_id: str, *, owner: str = "", lifetime: float | None = None,
          **data) -> SandboxObject:
    expires = timezone.now() + timedelta(seconds=lifetime) if lifetime else None
    return SandboxObject.objects.create(platform=platform, kind=kind, object_id=object_id, owner=owner,
                                        data=data, expires_at=expires)


def fetch(platform: str, kind: str, object_id: str) -> SandboxObject | None:
    return SandboxObject.objects.filter(platform=platform, kind=kind, object_id=object_id).first()


def update_data(obj: SandboxObject, **changes) -> None:
    obj.data.update(changes)
    SandboxObject.objects.filter(pk=obj.pk).update(data=obj.data)


def claim_result(obj: SandboxObject, result_id: str) -> bool:
    """Write what the object became, once: False when another call already did."""
    won = SandboxObject.objects.filter(pk=obj.pk, result_id="").update(result_id=result_id) == 1
    if won:
        obj.result_id = result_id
    return won


def is_mp4(head: bytes) -> bool:
    """An ISO base media file starts with a box whose type is `ftyp` (ISO/IEC 14496-12)."""
    return len(head) >= 12 and head[4:8] == b"ftyp"


def is_image(head: bytes) -> bool:
    """A JPEG (SOI marker, then a segment) or a PNG (its eight-byte signature)."""
    return head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG\r\n\x1a\n")
