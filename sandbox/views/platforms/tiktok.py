"""TikTok's Content Posting API (Direct Post, FILE_UPLOAD) and Display API video query, on their real paths.

Served under /sandbox/platforms/tiktok/: `v2/post/publish/creator_info/query/`,
`v2/post/publish/video/init/` (6 a minute per token), the upload URL it hands out
(`open-upload/video/?upload_id=…&upload_token=…`, standing in for open-upload.tiktokapis.com; chunks
in order, 206 until the file is complete, then 201 and the post is made), `v2/post/publish/status/fetch/`
(30 a minute per token) and `v2/video/query/`. Every answer carries `error` {code, message, log_id},
`code` "ok" on success. Upload URLs expire an hour after init.
"""

import json
import secrets
from datetime import timedelta

from django.conf import settings
from django.http import JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox import faults
from sandbox.models import SandboxPost, SandboxUpload

from . import common
from .public import metrics_at

NAME = "tiktok"
MB = 1024 * 1024
PRIVACY_OPTIONS = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
MAX_DURATION = 600


def answer(data: dict | None = None, *, status: int = 200, code: str = "ok", message: str = "") -> JsonResponse:
    body = {"error": {"code": code, "message": message, "log_id": secrets.token_hex(16).upper()}}
    if data is not None:
        body["data"] = data
    return JsonResponse(body, status=status)


def _fault_error(status, message, code, param):
    return answer(status=status, code={500: "internal_error", 503: "internal_error", 504: "internal_error",
                                       401: "access_token_invalid"}.get(status, code), message=message)


def _fault_rate_limited(fault_settings):
    response = answer(status=429, code="rate_limit_exceeded",
                      message="The API rate limit was exceeded. Please try again later.")
    response["Retry-After"] = str(fault_settings["retry_after"])
    return response


faults.register_platform(NAME, error=_fault_error, rate_limited=_fault_rate_limited)


def _begin(request, *, limit: tuple[str, int] | None = None, method: str = "POST"):
    """Auth, faults, per-token limit, JSON body: (platform, token, body, None) or (.., error response)."""
    platform = common.platform_of(request, NAME)
    token = common.bearer(request)
    if not token:
        faults.count_call(platform)
        return platform, "", None, answer(status=401, code="access_token_invalid",
                                          message="The access token is invalid or not found in the request.")
    faulted = common.faulted(platform, request)
    if faulted is not None:
        return platform, token, None, faulted
    if request.method != method:
        return platform, token, None, answer(status=405, code="invalid_params", message=f"Use {method}.")
    if limit is not None:
        bucket, per_minute = limit
        if common.per_token_limit(platform, token, bucket, per_minute, 60) is not None:
            return platform, token, None, _fault_rate_limited({"retry_after": 60})
    body = {}
    if request.body and method == "POST":
        try:
            body = json.loads(request.body)
        except ValueError:
            return platform, token, None, answer(status=400, code="invalid_params", message="The body is not JSON.")
        if not isinstance(body, dict):
            return platform, token, None, answer(status=400, code="invalid_params",
                                                 message="The body must be a JSON object.")
    return platform, token, body, None


def _creator(token: str) -> dict:
    account = common.account_of(token)
    return {"creator_avatar_url": f"https://p16-sign.tiktokcdn-us.com/{account}.jpeg",
            "creator_username": account, "creator_nickname": f"Creator {account[-4:]}",
            "privacy_level_options": PRIVACY_OPTIONS, "comment_disabled": False, "duet_disabled": False,
            "stitch_disabled": True, "max_video_post_duration_sec": MAX_DURATION}


@csrf_exempt
def creator_info(request):
    platform, token, _, error = _begin(request, limit=("creator_info", getattr(
        settings, "SANDBOX_TIKTOK_CREATOR_INFO_PER_MINUTE", 20)))
    return error or answer(_creator(token))


def _invalid(message: str) -> JsonResponse:
    return answer(status=400, code="invalid_params", message=message)


@csrf_exempt
def video_init(request):
    platform, token, body, error = _begin(request, limit=("init", getattr(settings, "SANDBOX_TIKTOK_INITS_PER_MINUTE",
                                                                           6)))
    if error:
        return error
    post_info, source = body.get("post_info"), body.get("source_info")
    if not isinstance(post_info, dict) or not isinstance(source, dict):
        return _invalid("post_info and source_info are required.")
    privacy = post_info.get("privacy_level")
    if privacy not in _creator(token)["privacy_level_options"]:
        return answer(status=400, code="privacy_level_option_mismatch",
                      message=f"privacy_level {privacy!r} is not among the creator's privacy_level_options.")
    title = post_info.get("title", "")
    if not isinstance(title, str) or len(title) > 2200:
        return _invalid("post_info.title must be a string of at most 2200 characters.")
    cover = post_info.get("video_cover_timestamp_ms", 0)
    if not isinstance(cover, int) or isinstance(cover, bool) or not 0 <= cover < 2 ** 31:
        return _invalid("post_info.video_cover_timestamp_ms must be a non-negative int32 (milliseconds).")
    if source.get("source") != "FILE_UPLOAD":
        return _invalid("source_info.source: only FILE_UPLOAD is served by the sandbox.")
    size, chunk, count = source.get("video_size"), source.get("chunk_size"), source.get("total_chunk_count")
    if not all(isinstance(value, int) and value > 0 for value in (size, chunk, count)):
        return _invalid("source_info.video_size, chunk_size and total_chunk_count must be positive integers.")
    if size < 5 * MB and (chunk != size or count != 1):
        return _invalid("A video under 5 MB is uploaded whole: chunk_size = video_size, total_chunk_count = 1.")
    if size >= 5 * MB and not (5 * MB <= chunk <= 64 * MB):
        return _invalid("chunk_size must be between 5 MB and 64 MB.")
    if count != max(1, size // chunk) or count > 1000:
        return _invalid("total_chunk_count must be video_size / chunk_size rounded down (1 to 1000).")
    publish_id = f"v_pub_file~v2-1.{secrets.randbelow(10 ** 18):018d}"
    upload_id = f"{secrets.randbelow(10 ** 18):018d}"
    common.start_upload(platform, handle=publish_id, token=token, total=size,
                        meta={"post_info": post_info, "source_info": source, "upload_id": upload_id,
                              "upload_token": secrets.token_urlsafe(16), "uploaded_chunks": 0},
                        lifetime=getattr(settings, "SANDBOX_TIKTOK_UPLOAD_SECONDS", 3600))
    upload = SandboxUpload.objects.get(handle=publish_id)
    url = request.build_absolute_uri(
        f"{request.path.split('/v2/')[0]}/open-upload/video/?upload_id={upload_id}"
        f"&upload_token={upload.meta['upload_token']}")
    return answer({"publish_id": publish_id, "upload_url": url})


@csrf_exempt
def upload_video(request):
    platform = common.platform_of(request, NAME)
    upload = SandboxUpload.objects.filter(platform=platform, meta__upload_id=request.GET.get("upload_id", ""),
                                          meta__upload_token=request.GET.get("upload_token", "")).first()
    if upload is None or (upload.expired and upload.post_id is None):
        faults.count_call(platform)
        return answer(status=404, code="invalid_params", message="The upload URL does not exist or has expired.")
    if request.method != "PUT":
        return answer(status=405, code="invalid_params", message="Use PUT.")
    data = common.media_body(request)
    try:
        unit, _, spec = request.headers.get("Content-Range", "").partition(" ")
        span, _, size = spec.partition("/")
        first, last, total = (int(value) for value in (*span.split("-"), size))
    except ValueError:
        faults.count_call(platform)
        return _invalid("Content-Range must be bytes FIRST-LAST/TOTAL.")
    chunk, count = upload.meta["source_info"]["chunk_size"], upload.meta["source_info"]["total_chunk_count"]
    index = upload.meta.get("uploaded_chunks", 0)
    expected_last = upload.total_bytes - 1 if index == count - 1 else (index + 1) * chunk - 1
    if upload.post_id is not None or index >= count:
        faults.count_call(platform)
        return answer(status=201, code="ok")
    if unit != "bytes" or total != upload.total_bytes or last - first + 1 != len(data):
        faults.count_call(platform)
        return _invalid("Content-Range does not match the bytes sent or the video_size of the init.")
    if (first, last) != (index * chunk, expected_last):
        faults.count_call(platform)
        return _invalid(f"Chunks are uploaded in order: expected bytes {index * chunk}-{expected_last}.")

    def keep(partial: bool):
        # A chunk counts only whole: one dropped halfway leaves uploaded_bytes where it was.
        if partial:
            return
        common.append(upload, first, data)
        upload.meta["uploaded_chunks"] = index + 1
        SandboxUpload.objects.filter(pk=upload.pk).update(meta=upload.meta)

    if index < count - 1:
        faulted = common.chunk(platform, request, keep)
        return faulted or answer(status=206, code="ok")

    def create(response_lost: bool) -> SandboxPost:
        keep(False)
        received = common.received(upload)
        # An MP4 starts with its `ftyp` box; anything else fails TikTok's format check.
        upload.meta["format_ok"] = received[4:8] == b"ftyp"
        SandboxUpload.objects.filter(pk=upload.pk).update(meta=upload.meta)
        post_info = upload.meta["post_info"]
        post = common.record_post(platform, remote_id=str(10 ** 18 + secrets.randbelow(9 * 10 ** 18)),
                                  account=common.account_of(upload.token), handle=upload.handle,
                                  title=post_info.get("title", "")[:300], caption=post_info.get("title", ""),
                                  data=received, response_lost=response_lost)
        SandboxUpload.objects.filter(pk=upload.pk).update(post=post, status="complete")
        return post

    faulted, _ = common.irreversible(platform, request, create)
    return faulted or answer(status=201, code="ok")


@csrf_exempt
def status_fetch(request):
    platform, token, body, error = _begin(request, limit=("status", getattr(
        settings, "SANDBOX_TIKTOK_STATUS_PER_MINUTE", 30)))
    if error:
        return error
    publish_id = body.get("publish_id")
    upload = SandboxUpload.objects.filter(platform=platform, handle=publish_id or "").select_related("post").first()
    if upload is None or upload.token != token:
        return _invalid(f"publish_id {publish_id!r} was not found for this user.")
    if upload.post is None:
        if upload.expired:
            # An upload never finished by its URL's expiry never becomes a post.
            return answer({"status": "FAILED", "fail_reason": "internal", "uploaded_bytes": upload.received_bytes})
        return answer({"status": "PROCESSING_UPLOAD", "uploaded_bytes": upload.received_bytes})
    if not upload.meta.get("format_ok", True):
        return answer({"status": "FAILED", "fail_reason": "file_format_check_failed",
                       "uploaded_bytes": upload.total_bytes})
    if upload.post.current_status() != SandboxPost.PUBLISHED:
        return answer({"status": "PROCESSING_DOWNLOAD", "uploaded_bytes": upload.total_bytes})
    public = upload.meta["post_info"].get("privacy_level") == "PUBLIC_TO_EVERYONE"
    return answer({"status": "PUBLISH_COMPLETE", "uploaded_bytes": upload.total_bytes,
                   "publicaly_available_post_id": [int(upload.post.remote_id)] if public else []})


@csrf_exempt
def video_query(request):
    platform, token, body, error = _begin(request)
    if error:
        return error
    fields = [field for field in request.GET.get("fields", "").split(",") if field]
    if not fields:
        return _invalid("fields is required.")
    ids = (body.get("filters") or {}).get("video_ids") or []
    if not isinstance(ids, list) or not ids or len(ids) > 20:
        return _invalid("filters.video_ids must list 1 to 20 video ids.")
    videos = []
    for post in SandboxPost.objects.filter(platform=platform, remote_id__in=[str(i) for i in ids]):
        numbers = metrics_at(post.remote_id, (timezone.now() - post.accepted_at) / timedelta(seconds=1))
        values = {"id": post.remote_id, "view_count": numbers["views"], "like_count": numbers["likes"],
                  "comment_count": numbers["comments"], "share_count": numbers["shares"],
                  "title": post.title, "create_time": int(post.accepted_at.timestamp())}
        videos.append({field: values[field] for field in fields if field in values})
    return answer({"videos": videos, "cursor": 0, "has_more": False})


urlpatterns = [
    path("v2/post/publish/creator_info/query/", creator_info, name="tiktok-creator-info"),
    path("v2/post/publish/video/init/", video_init, name="tiktok-video-init"),
    path("open-upload/video/", upload_video, name="tiktok-upload"),
    path("v2/post/publish/status/fetch/", status_fetch, name="tiktok-status"),
    path("v2/video/query/", video_query, name="tiktok-video-query"),
]
