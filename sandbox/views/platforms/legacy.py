"""One small posting protocol shared by the youtube, tiktok, instagram and x stand-ins.

Like the real platforms, post creation is not idempotent: the same client_ref posted twice is two
posts. Clients that lose a response must look the post up by client_ref before posting again.
"""

import hashlib
import uuid
from datetime import timedelta

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from sandbox import faults
from sandbox.models import SandboxPost

from ..common import gate, require_bearer

ID_PREFIXES = {"youtube": "yt_", "tiktok": "tt_", "instagram": "ig_", "x": "x_"}
MAX_TEXT = {"title": 300, "caption": 5000, "client_ref": 200, "asset_ref": 200}


def _check_platform(platform: str) -> None:
    from . import speaks_own_protocol

    if platform not in faults.PLATFORMS or speaks_own_protocol(platform):
        raise Http404(f"unknown platform {platform!r}, or one that speaks its own protocol")


def _post_url(request, post: SandboxPost) -> str:
    return request.build_absolute_uri(reverse("sandbox:platform-watch", args=[post.platform, post.remote_id]))


def _bad_request(platform: str, message: str, field: str) -> JsonResponse:
    faults.count_call(platform)
    return faults.error_response(platform, 400, message, code="invalid_request", param=field)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def posts(request, platform: str):
    _check_platform(platform)
    if request.method == "GET":
        return _list_posts(request, platform)
    return _create_post(request, platform)


def _create_post(request, platform: str):
    denied = require_bearer(request, platform)
    if denied is not None:
        return denied
    video = request.FILES.get("video")
    if video is None:
        return _bad_request(platform, "A video file is required (multipart field 'video').", "video")
    if video.size == 0:
        return _bad_request(platform, "The video file is empty.", "video")
    fields = {name: request.POST.get(name, "").strip() for name in MAX_TEXT}
    for name, limit in MAX_TEXT.items():
        if len(fields[name]) > limit:
            return _bad_request(platform, f"{name} is longer than {limit} characters.", name)

    digest = hashlib.sha256()
    for chunk in video.chunks():
        digest.update(chunk)

    def record(response_lost: bool = False) -> SandboxPost:
        now = timezone.now()
        # With no processing time the platform publishes synchronously, as X does: the post is
        # live in the answer to its creation.
        live = settings.SANDBOX_PROCESSING_SECONDS <= 0
        return SandboxPost.objects.create(
            platform=platform,
            remote_id=ID_PREFIXES.get(platform, f"{platform[:2]}_") + uuid.uuid4().hex[:12],
            size_bytes=video.size,
            sha256=digest.hexdigest(),
            status=SandboxPost.PUBLISHED if live else SandboxPost.PROCESSING,
            published_at=now if live else None,
            response_lost=response_lost,
            accepted_at=now,
            **fields,
        )

    faulted = faults.apply_faults(platform, request, on_accept=lambda: record(response_lost=True))
    if faulted is not None:
        return faulted
    post = record()
    return JsonResponse({"id": post.remote_id, "status": post.status, "url": _post_url(request, post)},
                        status=201)


def _list_posts(request, platform: str):
    faulted = gate(request, platform)
    if faulted is not None:
        return faulted
    queryset = SandboxPost.objects.filter(platform=platform)
    client_ref = request.GET.get("client_ref")
    if client_ref is not None:
        queryset = queryset.filter(client_ref=client_ref)
    asset_ref = request.GET.get("asset_ref")
    if asset_ref is not None:
        queryset = queryset.filter(asset_ref=asset_ref)
    results = [
        {"id": post.remote_id, "status": post.current_status(), "client_ref": post.client_ref,
         "asset_ref": post.asset_ref, "url": _post_url(request, post)}
        for post in queryset.order_by("-accepted_at", "-id")[:100]
    ]
    return JsonResponse({"results": results})


def _get_post(platform: str, remote_id: str) -> SandboxPost | None:
    return SandboxPost.objects.filter(platform=platform, remote_id=remote_id).first()


def _not_found(platform: str, remote_id: str) -> JsonResponse:
    return faults.error_response(platform, 404, f"No post with id {remote_id!r}.", code="not_found")


@csrf_exempt
@require_GET
def post_detail(request, platform: str, remote_id: str):
    _check_platform(platform)
    faulted = gate(request, platform)
    if faulted is not None:
        return faulted
    post = _get_post(platform, remote_id)
    if post is None:
        return _not_found(platform, remote_id)
    return JsonResponse({
        "id": post.remote_id,
        "status": post.current_status(),
        "url": _post_url(request, post),
        "client_ref": post.client_ref,
        "published_at": post.published_at.isoformat() if post.published_at else None,
    })


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


@csrf_exempt
@require_GET
def post_metrics(request, platform: str, remote_id: str):
    _check_platform(platform)
    faulted = gate(request, platform)
    if faulted is not None:
        return faulted
    post = _get_post(platform, remote_id)
    if post is None:
        return _not_found(platform, remote_id)
    now = timezone.now()
    numbers = metrics_at(post.remote_id, (now - post.accepted_at) / timedelta(seconds=1))
    return JsonResponse({"id": post.remote_id, **numbers, "measured_at": now.isoformat()})


@require_GET
def watch(request, platform: str, remote_id: str):
    """The public page a post's url points at, so links in the UI lead somewhere real."""
    _check_platform(platform)
    post = _get_post(platform, remote_id)
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
