"""What every sandbox platform shares: the token, faults on the irreversible call and on chunks,
per-token limits, upload storage with expiry, processing delays, and the ledger."""

import hashlib
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from sandbox import faults
from sandbox.models import SandboxPost, SandboxUpload
from sandbox.oauth import store as oauth_store


def platform_of(request, default: str) -> str:
    """The platform this request was sent to (a module may serve a platform registered under another name)."""
    return getattr(request, "sandbox_platform", default)


def bearer(request) -> str:
    """The bearer token, or "" when there is none (or it is one the sandbox's authorization server
    issued that has expired or was revoked: sandbox.oauth)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    return "" if oauth_store.refused(token) else token


def media_body(request) -> bytes:
    """An upload's bytes, read from the stream: chunks are far larger than the limit Django puts on
    `request.body` (DATA_UPLOAD_MAX_MEMORY_SIZE), which guards form posts, not media uploads."""
    if getattr(request, "_read_started", False):
        return request.body
    return request.read()


def account_of(token: str) -> str:
    """A stable account name for a token: per-token limits and the ledger key on it."""
    # A token from the sandbox's authorization server is its grant's account, across refreshes.
    token = oauth_store.account_for(token) or token
    return "acct_" + hashlib.sha256(token.encode()).hexdigest()[:12]


def new_id(prefix: str = "", length: int = 16) -> str:
    return prefix + uuid.uuid4().hex[:length]


def faulted(platform: str, request):
    """The faults every call of a platform obeys (counted, outage, latency, errors, rate limits)."""
    return faults.apply_faults(platform, request)


def irreversible(platform: str, request, create: Callable[[bool], object]):
    """The platform's irreversible call. `create(response_lost)` makes the post; an
    accept_then_timeout fault calls it and then loses the answer. Returns (faulted response, post)."""
    made: list = []
    response = faults.apply_faults(platform, request, on_accept=lambda: made.append(create(True)))
    if response is not None:
        return response, (made[0] if made else None)
    return None, create(False)


def chunk(platform: str, request, store: Callable[[bool], None]):
    """A chunk upload. `store(partial)` keeps the chunk (with partial=True only its first half): an
    accept_then_timeout fault stores half and then drops the answer, as a connection lost mid-upload."""
    response = faults.apply_faults(platform, request, on_accept=lambda: store(True), upload=True)
    if response is not None:
        return response
    store(False)
    return None


def per_token_limit(platform: str, token: str, bucket: str, limit: int, window: float) -> float | None:
    """A fixed window per token: None if the call is allowed, else seconds until the window ends."""
    window_start = int(time.time() // window * window)
    key = f"{faults.key('limit', platform)}:{bucket}:{account_of(token)}:{window_start}"
    conn = faults.connection()
    count = conn.incr(key)
    conn.expire(key, int(window) + 1)
    if count > limit:
        return max(window_start + window - time.time(), 0.0)
    return None


# --- Uploads in progress

def upload_dir() -> Path:
    path = Path(settings.VAR_DIR) / "sandbox" / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_upload(platform: str, *, handle: str, token: str, total: int, meta: dict,
                 lifetime: float) -> SandboxUpload:
    upload = SandboxUpload.objects.create(platform=platform, handle=handle, token=token, total_bytes=total,
                                          meta=meta, expires_at=timezone.now() + timedelta(seconds=lifetime))
    upload_path(upload).write_bytes(b"")
    return upload


def upload_path(upload: SandboxUpload) -> Path:
    return upload_dir() / hashlib.sha256(upload.handle.encode()).hexdigest()


def append(upload: SandboxUpload, offset: int, data: bytes) -> int:
    """Write bytes at `offset` (only contiguous with what was received); returns the new received count."""
    if offset != upload.received_bytes:
        raise ValueError(f"expected bytes from {upload.received_bytes}, got {offset}")
    with upload_path(upload).open("ab") as stored:
        stored.write(data)
    SandboxUpload.objects.filter(pk=upload.pk).update(received_bytes=offset + len(data))
    upload.received_bytes = offset + len(data)
    return upload.received_bytes


def received(upload: SandboxUpload) -> bytes:
    return upload_path(upload).read_bytes()


# --- The ledger

def fingerprint(platform: str, account: str, title: str, caption: str, sha256: str) -> str:
    """What makes two posts the same post: the account, the words and the bytes."""
    return "content:" + hashlib.sha256(f"{platform}|{account}|{title}|{caption}|{sha256}".encode()).hexdigest()[:40]


def record_post(platform: str, *, remote_id: str, account: str, handle: str, title: str, caption: str,
                data: bytes, response_lost: bool) -> SandboxPost:
    """A post the platform made. It goes live after SANDBOX_PROCESSING_SECONDS (SandboxPost.current_status)."""
    sha = hashlib.sha256(data).hexdigest()
    now = timezone.now()
    live = settings.SANDBOX_PROCESSING_SECONDS <= 0
    return SandboxPost.objects.create(
        platform=platform, remote_id=remote_id, account=account, handle=handle,
        asset_ref=fingerprint(platform, account, title, caption, sha), title=title[:300], caption=caption,
        size_bytes=len(data), sha256=sha, status=SandboxPost.PUBLISHED if live else SandboxPost.PROCESSING,
        published_at=now if live else None, response_lost=response_lost, accepted_at=now)
