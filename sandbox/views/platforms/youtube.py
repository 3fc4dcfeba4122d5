"""YouTube Data API v3 and YouTube Analytics API v2, as far as Phantoms uses them, on their real paths.

Served under /sandbox/platforms/youtube/: `POST upload/youtube/v3/videos?uploadType=resumable` starts a
session (its URI in `Location`), `PUT` on the session URI takes chunks (`Content-Range: bytes a-b/N`,
multiples of 256 KiB but the last, `308 Resume Incomplete` with `Range: bytes=0-N`) and answers
status queries (`Content-Range: bytes */N`); the last byte creates the video. `GET youtube/v3/videos`
lists videos (status, processingDetails, statistics, snippet parts; at most 50 ids), `POST
upload/youtube/v3/thumbnails/set?videoId=…` takes a JPEG or PNG for one of the caller's videos
(`invalidImage`, `mediaBodyRequired`, 403 `forbidden` for another's video or a channel not allowed
custom thumbnails, 404 `videoNotFound`) and `GET youtubeanalytics/v2/reports` reports per-video
metrics. Errors in Google's shape (`error.code/message/errors[].reason/status`). Sessions expire; a
completed session keeps answering.
"""

import hashlib
import json
import secrets
from datetime import timedelta

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox import faults
from sandbox.models import SandboxObject, SandboxPost, SandboxUpload

from . import common, stored
from .public import metrics_at

NAME = "youtube"
CHUNK_UNIT = 256 * 1024
CATEGORIES = {"1", "2", "10", "15", "17", "19", "20", "22", "23", "24", "25", "26", "27", "28", "29"}
PRIVACY = {"public", "private", "unlisted"}
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
DOMAINS = {"quotaExceeded": "youtube.quota", "uploadLimitExceeded": "youtube.video",
           "rateLimitExceeded": "usageLimits"}


def google_error(status: int, message: str, reason: str, location: str | None = None) -> JsonResponse:
    detail = {"message": message, "domain": DOMAINS.get(reason, "global"), "reason": reason}
    if location:
        detail.update(location=location, locationType="parameter" if "." not in location else "other")
    return JsonResponse({"error": {"code": status, "message": message, "errors": [detail],
                                   "status": STATUS_NAMES.get(status, "UNKNOWN")}}, status=status)


def _fault_error(status, message, code, param):
    return google_error(status, message, {500: "backendError", 503: "backendError", 504: "backendError",
                                          401: "authError"}.get(status, code), param)


def _fault_rate_limited(fault_settings):
    if fault_settings["quota_exhausted"]:
        return google_error(403, "The request cannot be completed because you have exceeded your quota.",
                            "quotaExceeded")
    response = google_error(429, "Too many requests.", "rateLimitExceeded")
    response["Retry-After"] = str(fault_settings["retry_after"])
    return response


faults.register_platform(NAME, error=_fault_error, rate_limited=_fault_rate_limited)


def _authorized(request):
    token = common.bearer(request)
    if token:
        return token, None
    faults.count_call(common.platform_of(request, NAME))
    return "", google_error(401, "Request is missing required authentication credential. Expected OAuth 2 access "
                                 "token, login cookie or other valid authentication credential.", "authError",
                            "Authorization")


def _api_call(request, method: str, described: str):
    """What every Data API call meets first: the token, the platform's faults, the verb.
    Returns (platform, token, an error answer or None)."""
    platform = common.platform_of(request, NAME)
    token, denied = _authorized(request)
    if denied is None:
        denied = common.faulted(platform, request)
    if denied is None and request.method != method:
        denied = google_error(405, described, "methodNotAllowed")
    return platform, token, denied


def _video_resource(post: SandboxPost, upload: SandboxUpload | None, parts: set[str], *,
                    as_accepted: bool = False) -> dict:
    """The video resource; `as_accepted` describes it as the upload that made it left it (videos.insert
    answers `uploaded` while processing runs), however little processing time the sandbox is given."""
    meta = upload.meta if upload else {}
    snippet, status = meta.get("snippet", {}), meta.get("status", {})
    processed = (post.status if as_accepted else post.current_status()) == SandboxPost.PUBLISHED
    resource = {"kind": "youtube#video", "etag": post.sha256[:27], "id": post.remote_id}
    if "snippet" in parts:
        resource["snippet"] = {"publishedAt": post.accepted_at.isoformat().replace("+00:00", "Z"),
                               "channelId": "UC" + post.account[-22:], "title": snippet.get("title", post.title),
                               "description": snippet.get("description", post.caption),
                               "tags": snippet.get("tags", []), "categoryId": snippet.get("categoryId", "22")}
    if "status" in parts:
        resource["status"] = {"uploadStatus": "processed" if processed else "uploaded",
                              "privacyStatus": status.get("privacyStatus", "public"), "license": "youtube",
                              "embeddable": True, "publicStatsViewable": True,
                              "selfDeclaredMadeForKids": bool(status.get("selfDeclaredMadeForKids", False))}
    if "processingDetails" in parts:
        resource["processingDetails"] = {"processingStatus": "succeeded" if processed else "processing"}
    if "statistics" in parts:
        numbers = metrics_at(post.remote_id, (timezone.now() - post.accepted_at) / timedelta(seconds=1))
        resource["statistics"] = {"viewCount": str(numbers["views"]), "likeCount": str(numbers["likes"]),
                                  "favoriteCount": "0", "commentCount": str(numbers["comments"])}
    return resource


def _validate(resource: dict, parts: set[str]) -> JsonResponse | None:
    snippet = resource.get("snippet")
    if "snippet" not in parts or not isinstance(snippet, dict):
        return google_error(400, "The request metadata does not specify a snippet.", "invalidVideoMetadata",
                            "body.snippet")
    title = snippet.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 100 or "<" in title or ">" in title:
        return google_error(400, "The request metadata specifies an invalid or empty video title.", "invalidTitle",
                            "body.snippet.title")
    description = snippet.get("description", "")
    if not isinstance(description, str) or len(description.encode()) > 5000 or "<" in description \
            or ">" in description:
        return google_error(400, "The request metadata specifies an invalid video description.",
                            "invalidDescription", "body.snippet.description")
    tags = snippet.get("tags", [])
    if not isinstance(tags, list) or sum(len(str(tag)) for tag in tags) > 500:
        return google_error(400, "The request metadata specifies invalid video keywords.", "invalidTags",
                            "body.snippet.tags")
    if str(snippet.get("categoryId", "22")) not in CATEGORIES:
        return google_error(400, "The video category specified in the request metadata is invalid.",
                            "invalidCategoryId", "body.snippet.categoryId")
    status = resource.get("status", {})
    if not isinstance(status, dict) or status.get("privacyStatus", "public") not in PRIVACY:
        return google_error(400, "The request metadata specifies an invalid privacy status.", "invalidVideoMetadata",
                            "body.status.privacyStatus")
    return None


@csrf_exempt
def upload(request):
    platform = common.platform_of(request, NAME)
    token, denied = _authorized(request)
    if denied:
        return denied
    if request.method == "POST":
        return _start(request, platform, token)
    if request.method == "PUT":
        return _put(request, platform, token)
    return google_error(405, f"Method {request.method} is not allowed here.", "methodNotAllowed")


def _start(request, platform: str, token: str):
    faulted = common.faulted(platform, request)
    if faulted is not None:
        return faulted
    if request.GET.get("uploadType") != "resumable":
        return google_error(400, "Only uploadType=resumable is served here.", "invalidParameter", "uploadType")
    parts = set(filter(None, request.GET.get("part", "").split(",")))
    if not parts:
        return google_error(400, "No filter selected. Expected one of: part.", "required", "part")
    try:
        resource = json.loads(request.body or b"{}")
    except ValueError:
        return google_error(400, "The request body is not valid JSON.", "parseError")
    if not isinstance(resource, dict):
        return google_error(400, "The request body must be a video resource.", "parseError")
    invalid = _validate(resource, parts)
    if invalid:
        return invalid
    length = request.headers.get("X-Upload-Content-Length", "")
    if not length.isdigit() or int(length) <= 0:
        return google_error(400, "X-Upload-Content-Length must be the size of the video in bytes.", "badRequest",
                            "X-Upload-Content-Length")
    content_type = request.headers.get("X-Upload-Content-Type", "")
    if not (content_type.startswith("video/") or content_type == "application/octet-stream"):
        return google_error(400, "X-Upload-Content-Type must be a video MIME type.", "badRequest",
                            "X-Upload-Content-Type")
    per_day = getattr(settings, "SANDBOX_YOUTUBE_UPLOADS_PER_DAY", 100)
    if common.per_token_limit(platform, token, "uploads", per_day, 86400) is not None:
        return google_error(403, "The user has exceeded the number of videos they may upload.",
                            "uploadLimitExceeded")
    upload_id = secrets.token_urlsafe(24)
    common.start_upload(platform, handle=upload_id, token=token, total=int(length),
                        meta={**resource, "parts": sorted(parts)},
                        lifetime=getattr(settings, "SANDBOX_YOUTUBE_SESSION_SECONDS", 7 * 86400))
    response = HttpResponse(status=200)
    response["Location"] = request.build_absolute_uri(
        f"{request.path}?uploadType=resumable&upload_id={upload_id}")
    return response


def _resume_incomplete(upload: SandboxUpload) -> HttpResponse:
    response = HttpResponse(status=308)
    response.reason_phrase = "Resume Incomplete"
    if upload.received_bytes:
        response["Range"] = f"bytes=0-{upload.received_bytes - 1}"
    return response


def _done(upload: SandboxUpload, status: int = 200, *, as_accepted: bool = False) -> JsonResponse:
    return JsonResponse(_video_resource(upload.post, upload, {"snippet", "status"}, as_accepted=as_accepted),
                        status=status)


def _put(request, platform: str, token: str):
    upload = SandboxUpload.objects.filter(platform=platform, handle=request.GET.get("upload_id", "")).first()
    if upload is None or (upload.expired and upload.post_id is None):
        faults.count_call(platform)
        return google_error(404, "The upload session does not exist or has expired.", "notFound", "upload_id")
    content_range = request.headers.get("Content-Range", "")
    data = common.media_body(request)
    if content_range.startswith("bytes */"):
        faulted = common.faulted(platform, request)
        if faulted is not None:
            return faulted
        return _done(upload) if upload.post_id else _resume_incomplete(upload)
    if upload.post_id:
        faults.count_call(platform)
        return _done(upload)
    start, total = 0, upload.total_bytes
    if content_range:
        try:
            unit, _, spec = content_range.partition(" ")
            span, _, size = spec.partition("/")
            first, _, last = span.partition("-")
            start, end, total = int(first), int(last), int(size)
        except ValueError:
            faults.count_call(platform)
            return google_error(400, f"Invalid Content-Range {content_range!r}.", "badRequest", "Content-Range")
        if unit != "bytes" or end - start + 1 != len(data):
            faults.count_call(platform)
            return google_error(400, "Content-Range does not match the bytes sent.", "badRequest", "Content-Range")
    if total != upload.total_bytes:
        faults.count_call(platform)
        return google_error(400, f"The upload is {upload.total_bytes} bytes, not {total}.", "badRequest",
                            "Content-Range")
    if start != upload.received_bytes:
        faults.count_call(platform)
        return _resume_incomplete(upload)
    completes = start + len(data) >= upload.total_bytes
    if not completes and len(data) % CHUNK_UNIT:
        faults.count_call(platform)
        return google_error(400, "Chunks other than the last must be a multiple of 256 KiB.", "badRequest",
                            "Content-Range")
    if not completes:
        faulted = common.chunk(platform, request, lambda partial: common.append(
            upload, start, data[: len(data) // 2] if partial else data))
        return faulted or _resume_incomplete(upload)

    def create(response_lost: bool) -> SandboxPost:
        common.append(upload, start, data)
        snippet = upload.meta.get("snippet", {})
        post = common.record_post(platform, remote_id=secrets.token_urlsafe(8)[:11], account=common.account_of(token),
                                  handle=upload.handle, title=snippet.get("title", ""),
                                  caption=snippet.get("description", ""), data=common.received(upload),
                                  response_lost=response_lost)
        SandboxUpload.objects.filter(pk=upload.pk).update(post=post, status="complete")
        upload.post = post
        return post

    faulted, _ = common.irreversible(platform, request, create)
    return faulted or _done(upload, status=201, as_accepted=True)


@csrf_exempt
def videos(request):
    platform, _, denied = _api_call(request, "GET", "Only videos.list is served here.")
    if denied is not None:
        return denied
    parts = set(filter(None, request.GET.get("part", "").split(",")))
    if not parts:
        return google_error(400, "No filter selected. Expected one of: part.", "required", "part")
    unknown = parts - {"snippet", "status", "processingDetails", "statistics", "id"}
    if unknown:
        return google_error(400, f"Unknown part {sorted(unknown)[0]!r}.", "unknownPart", "part")
    ids = [value for value in request.GET.get("id", "").split(",") if value]
    if not ids:
        return google_error(400, "No filter selected. Expected one of: id, chart, myRated.", "missingRequiredParameter",
                            "id")
    if len(ids) > 50:
        return google_error(400, "The request specifies more than 50 video ids.", "invalidParameter", "id")
    posts = {post.remote_id: post for post in SandboxPost.objects.filter(platform=platform, remote_id__in=ids)}
    uploads = {upload.post_id: upload for upload in SandboxUpload.objects.filter(post__in=posts.values())}
    items = [_video_resource(posts[video_id], uploads.get(posts[video_id].pk), parts)
             for video_id in ids if video_id in posts]
    return JsonResponse({"kind": "youtube#videoListResponse", "etag": secrets.token_hex(8), "items": items,
                         "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)}})


@csrf_exempt
def reports(request):
    platform, _, denied = _api_call(request, "GET", "Only reports.query is served here.")
    if denied is not None:
        return denied
    for required in ("ids", "startDate", "endDate", "metrics"):
        if not request.GET.get(required):
            return google_error(400, f"Required parameter: {required}", "required", required)
    metrics = request.GET["metrics"].split(",")
    known = {"views", "likes", "comments", "shares", "estimatedMinutesWatched", "averageViewDuration"}
    if set(metrics) - known:
        return google_error(400, f"Unknown identifier ({sorted(set(metrics) - known)[0]}) given in field "
                                 "parameters.metrics.", "invalid", "metrics")
    filters = request.GET.get("filters", "")
    ids = filters.removeprefix("video==").split(",") if filters.startswith("video==") else []
    headers = [{"name": "video", "columnType": "DIMENSION", "dataType": "STRING"}] + [
        {"name": metric, "columnType": "METRIC", "dataType": "INTEGER"} for metric in metrics]
    rows = []
    for post in SandboxPost.objects.filter(platform=platform, remote_id__in=ids):
        numbers = metrics_at(post.remote_id, (timezone.now() - post.accepted_at) / timedelta(seconds=1))
        values = {**numbers, "estimatedMinutesWatched": numbers["views"] * 3 // 10, "averageViewDuration": 18}
        rows.append([post.remote_id, *[values[metric] for metric in metrics]])
    return JsonResponse({"kind": "youtubeAnalytics#resultTable", "columnHeaders": headers, "rows": rows})


THUMBNAIL_TYPES = {"image/jpeg", "image/png", "application/octet-stream"}
THUMBNAIL_SIZES = {"default": (120, 90), "medium": (320, 180), "high": (480, 360)}


@csrf_exempt
def thumbnails_set(request):
    """thumbnails.set: a custom thumbnail for one of the caller's own videos, as a media upload."""
    platform, token, denied = _api_call(request, "POST", "thumbnails.set takes POST.")
    if denied is not None:
        return denied
    video_id = request.GET.get("videoId", "")
    if not video_id:
        return google_error(400, "Required parameter: videoId", "required", "videoId")
    post = SandboxPost.objects.filter(platform=platform, remote_id=video_id).first()
    if post is None:
        return google_error(404, "The video that you are trying to update cannot be found.", "videoNotFound",
                            "videoId")
    if post.account != common.account_of(token) or not settings.SANDBOX_YOUTUBE_CUSTOM_THUMBNAILS:
        return google_error(403, "The authenticated user doesn't have permissions to upload and set custom video "
                                 "thumbnails.", "forbidden")
    data = request.body
    if not data:
        return google_error(400, "The request does not include the image content.", "mediaBodyRequired")
    if request.content_type not in THUMBNAIL_TYPES or not stored.is_image(data):
        return google_error(400, "The image content provided is not valid.", "invalidImage")
    digest = hashlib.sha256(data).hexdigest()
    SandboxObject.objects.update_or_create(platform=platform, kind="thumbnail", object_id=video_id, defaults={
        "owner": post.account, "data": {"sha256": digest, "size": len(data), "content_type": request.content_type}})
    base = f"https://i.ytimg.com/vi/{video_id}"
    return JsonResponse({"kind": "youtube#thumbnailSetResponse", "etag": digest[:16], "items": [
        {name: {"url": f"{base}/{name}.jpg", "width": width, "height": height}
         for name, (width, height) in THUMBNAIL_SIZES.items()}]})


urlpatterns = [
    path("upload/youtube/v3/videos", upload, name="youtube-upload"),
    path("upload/youtube/v3/thumbnails/set", thumbnails_set, name="youtube-thumbnails-set"),
    path("youtube/v3/videos", videos, name="youtube-videos"),
    path("youtubeanalytics/v2/reports", reports, name="youtube-reports"),
]
