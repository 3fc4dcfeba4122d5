"""The public page a sandbox post's URL points at, and the engagement numbers every sandbox platform reports.

(The old shared posting protocol that lived here is gone: every platform speaks its own documented
API under its prefix, docs/platforms.md.)
"""

import hashlib

from django.conf import settings
from django.http import Http404, HttpResponse
from django.utils.html import escape
from django.views.decorators.http import require_GET

from sandbox.models import SandboxPost


def metrics_at(remote_id: str, elapsed_seconds: float) -> dict:
    """Engagement numbers that depend only on the post and its age, and never go down."""
    seed = int(hashlib.sha256(remote_id.encode()).hexdigest()[:12], 16)
    elapsed = max(0.0, elapsed_seconds)
    views_per_second = 5 + seed % 46
    views = int(views_per_second * elapsed)
    return {
        "views": views,
        "likes": views * (2 + seed % 7) // 100,
        "comments": views * (1 + (seed >> 8) % 5) // 1000,
        "shares": views * (1 + (seed >> 16) % 3) // 500,
    }


@require_GET
def watch(request, platform: str, remote_id: str):
    """The public page a post's url points at, so links in the UI lead somewhere real."""
    post = SandboxPost.objects.filter(platform=platform, remote_id=remote_id).first()
    if post is None:
        raise Http404("no such post")
    status = post.current_status()
    body = (
        f"<!doctype html><title>{escape(post.title or post.remote_id)}</title>"
        f"<h1>{escape(post.title or post.remote_id)}</h1>"
        f"<p>{escape(platform)} sandbox post {escape(post.remote_id)}: {escape(status)}</p>"
        f"<p>{escape(post.caption)}</p>"
        f"<p>{post.size_bytes} bytes, sha256 {escape(post.sha256)}</p>"
        f"<p>Processing takes {settings.SANDBOX_PROCESSING_SECONDS:g} s in the sandbox.</p>"
    )
    return HttpResponse(body)
