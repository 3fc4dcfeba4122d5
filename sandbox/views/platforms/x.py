"""X API v2: chunked media upload and posts, as an imitation over loopback.

Follows the X API v2 documentation:

- "Media upload" (chunked): `POST /2/media/upload/initialize` with `media_type`, `total_bytes` and
  `media_category` (`amplify_video` for a video post) answers `{"data": {"id", "media_key",
  "expires_after_secs"}}`; `POST /2/media/upload/{id}/append` (multipart `media` and
  `segment_index`, 0-999) stores one segment; `POST /2/media/upload/{id}/finalize` answers the
  media with `size`, `expires_after_secs` and, when the video still has to be processed,
  `processing_info` `{"state": "pending", "check_after_secs"}`; `GET /2/media/upload?command=
  STATUS&media_id=…` answers `processing_info.state` pending → in_progress → succeeded | failed
  (with `error` `{"code", "name", "message"}`). Uploading media posts nothing; a media id is only
  usable until it expires.
- "Manage Posts": `POST /2/tweets` with `text` and `media.media_ids` answers `201 {"data": {"id",
  "text", "edit_history_tweet_ids"}}` — the one call that creates a post. A second post with the
  same text by the same user is refused with 403 ("duplicate content"). `DELETE /2/tweets/{id}`.
- "Users lookup" (`GET /2/users/me`) and "User Posts timeline" (`GET /2/users/{id}/tweets` with
  `expansions=attachments.media_keys`, `tweet.fields`, `start_time`, `max_results` 5-100, newest first, with
  `includes.media` and `meta` `{result_count, newest_id, oldest_id, next_token}`; "Pagination": a
  `next_token` in `meta` means more posts, fetched with `pagination_token`, and is absent on the last page).
- "Posts lookup": `GET /2/tweets?ids=…` (at most 100 ids) with `tweet.fields=public_metrics`
  answers `public_metrics` {retweet_count, reply_count, like_count, quote_count, bookmark_count,
  impression_count}; ids that no longer exist come back in `errors` as "Not Found Error".
- "Rate limits": every answer carries `x-rate-limit-limit`, `x-rate-limit-remaining` and
  `x-rate-limit-reset` (epoch seconds) for its endpoint and user over a 15-minute window; a
  spent window is `429 Too Many Requests`. Posting also has a per-user 24-hour cap, reported in
  `x-user-limit-24hour-limit/-remaining/-reset`. Errors are problem objects `{"title", "detail",
  "type", "status"}` (validation errors add `errors`).

A user is identified by the access token (ids derived from it), as X identifies the user of an
OAuth 2.0 user-context token. Paths are served under the sandbox's X prefix.
"""

import base64
import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.http import JsonResponse
from django.urls import re_path, reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sandbox import faults
from sandbox.models import SandboxObject, SandboxPost
from sandbox.oauth import store as oauth_store
from sandbox.views.platforms.public import metrics_at

from . import common
from . import stored as state

TARGET = "x"
WINDOW = 15 * 60
DAY = 24 * 3600
TEXT_LIMIT = 280
MAX_SEGMENTS = 1000
MAX_SEGMENT_BYTES = 5 * 1024 * 1024  # the v1.1 APPEND reference: a segment is at most 5 MB
MAX_VIDEO_BYTES = 512 * 1024 * 1024
MEDIA_KEY_PREFIX = {"amplify_video": "13_", "tweet_video": "7_", "tweet_gif": "16_", "tweet_image": "3_"}
# Requests per user per 15 minutes for each endpoint (the documented per-user limits of the Basic tier
# are of this order; settings.SANDBOX_X_RATE_LIMITS overrides any of them).
RATE_LIMITS = {
    "media_upload": 1500,
    "tweets_create": 100,
    "tweets_delete": 50,
    "tweets_lookup": 900,
    "users_me": 75,
    "users_tweets": 900,
}
POSTS_PER_DAY = 2400


def problem(status: int, title: str, detail: str, *, type_: str = "about:blank", errors: list | None = None,
            headers: dict | None = None) -> JsonResponse:
    body: dict = {"title": title, "detail": detail, "type": type_, "status": status}
    if errors:
        body["errors"] = errors
    response = JsonResponse(body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def invalid(parameter: str, message: str, headers: dict | None = None) -> JsonResponse:
    return problem(400, "Invalid Request", "One or more parameters to your request was invalid.",
                   type_="https://api.twitter.com/2/problems/invalid-request",
                   errors=[{"parameters": {parameter: []}, "message": message}], headers=headers)


def user_id_for(token: str) -> str:
    # A token from the sandbox's authorization server is its grant's account, whatever refresh made it.
    granted = oauth_store.account_for(token)
    if granted and granted.isdigit():  # X user ids are numeric strings
        return granted
    return str(10**17 + int(hashlib.sha256(f"x-user:{token}".encode()).hexdigest()[:15], 16) % (9 * 10**17))


def _limit(endpoint: str) -> int:
    return int(getattr(settings, "SANDBOX_X_RATE_LIMITS", {}).get(endpoint, RATE_LIMITS[endpoint]))


def _gate(request, endpoint: str, *, on_accept=None, upload: bool = False):
    """Token, the per-user window of this endpoint, then the injected faults.

    Returns (error response or None, user id, rate-limit headers for the answer).
    """
    token = state.token_of(request)
    if not token or not request.headers.get("Authorization", "").lower().startswith("bearer "):
        faults.count_call(TARGET)
        return problem(401, "Unauthorized", "Unauthorized"), "", {}
    user_id = user_id_for(token)
    calls, reset = state.count_in_window(f"{TARGET}:{endpoint}", user_id, WINDOW)
    limit = _limit(endpoint)
    headers = {"x-rate-limit-limit": str(limit), "x-rate-limit-remaining": str(max(0, limit - calls)),
               "x-rate-limit-reset": str(reset)}
    if calls > limit:
        faults.count_call(TARGET)
        return problem(429, "Too Many Requests", "Too Many Requests", headers=headers), user_id, headers
    faulted = faults.apply_faults(TARGET, request, on_accept=on_accept, upload=upload)
    if faulted is None:
        return None, user_id, headers
    if faulted.status_code == 429:
        # The injected limit: the window is spent until retry_after from now.
        wait = faults.get_faults(TARGET)["retry_after"]
        spent = {"x-rate-limit-limit": str(limit), "x-rate-limit-remaining": "0",
                 "x-rate-limit-reset": str(int(time.time() + wait + 0.999))}
        return problem(429, "Too Many Requests", "Too Many Requests", headers=spent), user_id, headers
    if faulted.status_code in (500, 503):
        title = "Service Unavailable" if faulted.status_code == 503 else "Internal Server Error"
        return problem(faulted.status_code, title, title), user_id, headers
    return faulted, user_id, headers


def _answer(body: dict, headers: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _body(request) -> dict:
    """JSON or form fields, as the v2 media endpoints accept both."""
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return {}
        return body if isinstance(body, dict) else {}
    return {k: v for k, v in request.POST.items()}


# --- media uploads

def uploads_dir(media_id: str) -> Path:
    return Path(settings.MEDIA_ROOT) / "sandbox_uploads" / "x" / media_id


def media_lifetime() -> float:
    return float(getattr(settings, "SANDBOX_X_MEDIA_LIFETIME", DAY))


def _media(media_id: str, user_id: str):
    media = state.fetch(TARGET, "media", media_id) if media_id.isdigit() else None
    if media is None or media.owner != user_id:
        return None
    if media.expires_at is not None and timezone.now() >= media.expires_at:
        return None
    return media


def _expires_after(media) -> int:
    return max(0, int((media.expires_at - timezone.now()).total_seconds())) if media.expires_at else 0


def processing_state(media, now: float | None = None) -> dict | None:
    """The media's processing_info now, or None for media that needed no processing."""
    data = media.data
    if not data.get("finalized_at"):
        return None
    now = time.time() if now is None else now
    ready_at = data["ready_at"]
    if ready_at <= data["finalized_at"] and not data.get("error"):
        return None
    if now >= ready_at:
        if data.get("error"):
            return {"state": "failed", "progress_percent": 100, "error": data["error"]}
        return {"state": "succeeded", "progress_percent": 100}
    span = max(ready_at - data["finalized_at"], 1e-6)
    percent = int(100 * (now - data["finalized_at"]) / span)
    check_after = max(1, int(ready_at - now + 0.999))
    if percent <= 0:
        return {"state": "pending", "check_after_secs": check_after}
    return {"state": "in_progress", "check_after_secs": check_after, "progress_percent": min(99, percent)}


def media_usable(media) -> bool:
    info = processing_state(media)
    return bool(media.data.get("finalized_at")) and (info is None or info["state"] == "succeeded")


def _media_body(media) -> dict:
    body = {"id": media.object_id, "media_key": media.data["media_key"], "expires_after_secs": _expires_after(media)}
    if media.data.get("finalized_at"):
        body["size"] = media.data["total_bytes"]
    info = processing_state(media)
    if info is not None:
        body["processing_info"] = info
    return body


@csrf_exempt
@require_POST
def initialize(request):
    denied, user_id, headers = _gate(request, "media_upload")
    if denied is not None:
        return denied
    body = _body(request)
    media_type = str(body.get("media_type", ""))
    if not media_type:
        return invalid("media_type", "The `media_type` field is required.", headers)
    if media_type not in ("video/mp4", "video/quicktime"):
        return invalid("media_type", f"`media_type` {media_type!r} is not a video type this imitation accepts "
                                     "(video/mp4, video/quicktime).", headers)
    try:
        total_bytes = int(body.get("total_bytes", ""))
    except (TypeError, ValueError):
        return invalid("total_bytes", "The `total_bytes` field must be a whole number of bytes.", headers)
    if not 0 < total_bytes <= MAX_VIDEO_BYTES:
        return invalid("total_bytes", f"`total_bytes` must be between 1 and {MAX_VIDEO_BYTES}.", headers)
    category = str(body.get("media_category", "tweet_video"))
    if category not in MEDIA_KEY_PREFIX:
        return invalid("media_category", f"`media_category` must be one of {', '.join(MEDIA_KEY_PREFIX)}.", headers)
    media_id = state.numeric_id()
    media = state.store(TARGET, "media", media_id, owner=user_id, lifetime=media_lifetime(),
                        media_key=MEDIA_KEY_PREFIX[category] + media_id, media_type=media_type,
                        media_category=category, total_bytes=total_bytes, received_bytes=0, segments=[])
    return _answer({"data": _media_body(media)}, headers)


def _segment_bytes(request, body: dict) -> bytes | None:
    upload = request.FILES.get("media")
    if upload is not None:
        return upload.read()
    encoded = body.get("media") or body.get("media_data")
    if isinstance(encoded, str) and encoded:
        try:
            return base64.b64decode(encoded, validate=True)
        except ValueError:
            return None
    return None


def _store_segment(media, index: int, chunk: bytes) -> None:
    folder = uploads_dir(media.object_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{index:04d}").write_bytes(chunk)
    # Counted per request received, so a test sees the bytes a client sent twice.
    SandboxObject.objects.filter(pk=media.pk).update(data=media.data | {
        "received_bytes": media.data.get("received_bytes", 0) + len(chunk),
        "segments": sorted(set(media.data.get("segments", [])) | {index}),
    })


@csrf_exempt
@require_POST
def append(request, media_id: str):
    body = _body(request)
    token_user = user_id_for(state.token_of(request)) if state.token_of(request) else ""
    media = _media(media_id, token_user)
    chunk = _segment_bytes(request, body)
    try:
        index = int(body.get("segment_index", ""))
    except (TypeError, ValueError):
        index = -1
    acceptable = media is not None and chunk is not None and 0 <= index < MAX_SEGMENTS \
        and not media.data.get("finalized_at") and len(chunk) <= MAX_SEGMENT_BYTES
    denied, user_id, headers = _gate(
        request, "media_upload",
        on_accept=(lambda: _store_segment(media, index, chunk)) if acceptable else None, upload=True)
    if denied is not None:
        return denied
    if media is None:
        return invalid("id", f"Media {media_id} does not exist, has expired or belongs to another user.", headers)
    if chunk is None:
        return invalid("media", "The `media` field (the segment's bytes) is required.", headers)
    if not 0 <= index < MAX_SEGMENTS:
        return invalid("segment_index", f"`segment_index` must be between 0 and {MAX_SEGMENTS - 1}.", headers)
    if len(chunk) > MAX_SEGMENT_BYTES:
        return invalid("media", f"A segment is at most {MAX_SEGMENT_BYTES} bytes.", headers)
    if media.data.get("finalized_at"):
        return invalid("id", f"Media {media_id} is already finalized.", headers)
    _store_segment(media, index, chunk)
    return _answer({"data": {"expires_at": int(media.expires_at.timestamp())}}, headers)


@csrf_exempt
@require_POST
def finalize(request, media_id: str):
    denied, user_id, headers = _gate(request, "media_upload")
    if denied is not None:
        return denied
    media = _media(media_id, user_id)
    if media is None:
        return invalid("id", f"Media {media_id} does not exist, has expired or belongs to another user.", headers)
    if not media.data.get("finalized_at"):
        indexes = media.data.get("segments", [])
        if indexes != list(range(len(indexes))):
            return invalid("id", f"Segments {indexes} are not contiguous from 0.", headers)
        folder = uploads_dir(media_id)
        content = b"".join((folder / f"{i:04d}").read_bytes() for i in indexes)
        if len(content) != media.data["total_bytes"]:
            announced = media.data["total_bytes"]
            return invalid("id", f"The uploaded segments hold {len(content)} bytes, not the {announced} "
                                 "announced as total_bytes.", headers)
        now = time.time()
        error = None if state.is_mp4(content[:16]) else {
            "code": 1, "name": "InvalidMedia", "message": "Unsupported video format"}
        processing = settings.SANDBOX_PROCESSING_SECONDS
        state.update_data(media, finalized_at=now, ready_at=now + (processing if processing > 0 or error else 0),
                          error=error, sha256=hashlib.sha256(content).hexdigest())
        (folder / "media.mp4").write_bytes(content)
        for i in indexes:
            (folder / f"{i:04d}").unlink(missing_ok=True)
    return _answer({"data": _media_body(media)}, headers)


@csrf_exempt
@require_GET
def upload_status(request):
    denied, user_id, headers = _gate(request, "media_upload")
    if denied is not None:
        return denied
    if request.GET.get("command", "STATUS") != "STATUS":
        return invalid("command", "`command` must be STATUS for a GET.", headers)
    media_id = request.GET.get("media_id", "")
    if not media_id:
        return invalid("media_id", "The `media_id` query parameter is required.", headers)
    media = _media(media_id, user_id)
    if media is None:
        return invalid("media_id", f"Media {media_id} does not exist, has expired or belongs to another user.",
                       headers)
    return _answer({"data": _media_body(media)}, headers)


# --- posts

def daily_posts() -> int:
    return int(getattr(settings, "SANDBOX_X_POSTS_PER_DAY", POSTS_PER_DAY))


def _posts_today(user_id: str):
    since = timezone.now() - timedelta(seconds=DAY)
    return SandboxObject.objects.filter(platform=TARGET, kind="tweet", owner=user_id, created_at__gte=since)


def _daily_headers(user_id: str) -> tuple[dict, int]:
    posts = _posts_today(user_id)
    used = posts.count()
    oldest = posts.order_by("created_at").first()
    reset = int((oldest.created_at.timestamp() if oldest else time.time()) + DAY)
    limit = daily_posts()
    return ({"x-user-limit-24hour-limit": str(limit), "x-user-limit-24hour-remaining": str(max(0, limit - used)),
             "x-user-limit-24hour-reset": str(reset)}, used)


def _tweet_url(request, tweet_id: str) -> str:
    return request.build_absolute_uri(reverse("sandbox:platform-watch", args=[TARGET, tweet_id]))


@csrf_exempt
@require_http_methods(["GET", "POST"])
def tweets(request):
    if request.method == "GET":
        return _lookup(request)
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        body = None
    token = state.token_of(request)
    user_id = user_id_for(token) if token else ""
    problems = _check_post(body, user_id) if isinstance(body, dict) else ("text", "The body must be a JSON object.")
    media = [_media(str(i), user_id) for i in (body.get("media") or {}).get("media_ids", [])] \
        if isinstance(body, dict) and not problems else []
    daily, used = _daily_headers(user_id) if user_id else ({}, 0)
    duplicate = bool(isinstance(body, dict) and not problems and _posts_today(user_id).filter(
        data__text=body.get("text", "")).exists())
    acceptable = not problems and not duplicate and used < daily_posts()

    def create(response_lost: bool = False) -> dict:
        tweet_id = state.numeric_id()
        text = body.get("text", "")
        keys = [m.data["media_key"] for m in media]
        state.store(TARGET, "tweet", tweet_id, owner=user_id, text=text, media_keys=keys)
        first = media[0].data if media else {}
        now = timezone.now()
        account = common.account_of(token)
        SandboxPost.objects.create(
            platform=TARGET, remote_id=tweet_id, caption=text, account=account,
            handle=",".join(m.object_id for m in media),
            asset_ref=common.fingerprint(TARGET, account, "", text, first.get("sha256", "")),
            sha256=first.get("sha256", ""), size_bytes=first.get("total_bytes", 0),
            status=SandboxPost.PUBLISHED, published_at=now, accepted_at=now, response_lost=response_lost)
        return {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}

    denied, user_id, headers = _gate(request, "tweets_create",
                                     on_accept=(lambda: create(True)) if acceptable else None)
    if denied is not None:
        return denied
    headers = headers | daily
    if problems:
        return invalid(problems[0], problems[1], headers)
    if duplicate:
        return problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.",
                       headers=headers)
    if used >= daily_posts():
        spent = headers | {"x-user-limit-24hour-remaining": "0"}
        return problem(429, "Too Many Requests", "Too Many Requests", headers=spent)
    return _answer({"data": create()}, headers, status=201)


def _check_post(body: dict, user_id: str) -> tuple[str, str] | None:
    text = body.get("text", "")
    if not isinstance(text, str):
        return "text", "`text` must be a string."
    if len(text) > TEXT_LIMIT:
        return "text", f"`text` is {len(text)} characters long; a post holds at most {TEXT_LIMIT}."
    media_ids = (body.get("media") or {}).get("media_ids", []) if isinstance(body.get("media") or {}, dict) else None
    if media_ids is None or not isinstance(media_ids, list) or len(media_ids) > 4:
        return "media.media_ids", "`media.media_ids` must be a list of at most 4 media ids."
    if not text and not media_ids:
        return "text", "A post needs `text` or `media.media_ids`."
    for media_id in media_ids:
        media = _media(str(media_id), user_id)
        if media is None:
            return "media.media_ids", f"Your media IDs are invalid: {media_id} does not exist or has expired."
        if not media_usable(media):
            return "media.media_ids", f"Media {media_id} has not finished processing (or failed)."
    return None


@csrf_exempt
@require_http_methods(["DELETE"])
def tweet_detail(request, tweet_id: str):
    denied, user_id, headers = _gate(request, "tweets_delete")
    if denied is not None:
        return denied
    tweet = state.fetch(TARGET, "tweet", tweet_id)
    if tweet is None or tweet.owner != user_id:
        return problem(404, "Not Found Error", f"Could not find tweet with id: [{tweet_id}].",
                       type_="https://api.twitter.com/2/problems/resource-not-found", headers=headers)
    tweet.delete()
    SandboxPost.objects.filter(platform=TARGET, remote_id=tweet_id).delete()
    return _answer({"data": {"deleted": True}}, headers)


def _tweet_json(tweet, fields: set[str]) -> dict:
    body = {"id": tweet.object_id, "text": tweet.data["text"], "edit_history_tweet_ids": [tweet.object_id]}
    if "author_id" in fields:
        body["author_id"] = tweet.owner
    if "created_at" in fields:
        body["created_at"] = tweet.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if tweet.data.get("media_keys") and ("attachments" in fields or "attachments.media_keys" in fields):
        body["attachments"] = {"media_keys": tweet.data["media_keys"]}
    if "public_metrics" in fields:
        numbers = metrics_at(tweet.object_id, (timezone.now() - tweet.created_at).total_seconds())
        body["public_metrics"] = {
            "retweet_count": numbers["shares"], "reply_count": numbers["comments"], "like_count": numbers["likes"],
            "quote_count": numbers["shares"] // 4, "bookmark_count": numbers["likes"] // 10,
            "impression_count": numbers["views"],
        }
    return body


def _fields(request) -> set[str]:
    fields = {f for f in request.GET.get("tweet.fields", "").split(",") if f}
    if "attachments.media_keys" in request.GET.get("expansions", ""):
        fields.add("attachments")
    return fields


def _lookup(request):
    denied, user_id, headers = _gate(request, "tweets_lookup")
    if denied is not None:
        return denied
    ids = [i for i in request.GET.get("ids", "").split(",") if i]
    if not ids:
        return invalid("ids", "The `ids` query parameter is required.", headers)
    if len(ids) > 100 or not all(i.isdigit() for i in ids):
        return invalid("ids", "`ids` must be 1 to 100 comma-separated numeric ids.", headers)
    found = {t.object_id: t for t in SandboxObject.objects.filter(platform=TARGET, kind="tweet", object_id__in=ids)}
    fields = _fields(request)
    body: dict = {}
    data = [_tweet_json(found[i], fields) for i in ids if i in found]
    if data:
        body["data"] = data
    missing = [i for i in ids if i not in found]
    if missing:
        body["errors"] = [{"value": i, "detail": f"Could not find tweet with ids: [{i}].", "title": "Not Found Error",
                           "resource_type": "tweet", "parameter": "ids", "resource_id": i,
                           "type": "https://api.twitter.com/2/problems/resource-not-found"} for i in missing]
    return _answer(body, headers)


@csrf_exempt
@require_GET
def users_me(request):
    denied, user_id, headers = _gate(request, "users_me")
    if denied is not None:
        return denied
    return _answer({"data": {"id": user_id, "name": "Sandbox user", "username": f"sandbox_{user_id[-6:]}"}}, headers)


@csrf_exempt
@require_GET
def user_tweets(request, user_id: str):
    denied, caller, headers = _gate(request, "users_tweets")
    if denied is not None:
        return denied
    try:
        max_results = int(request.GET.get("max_results", 10))
    except ValueError:
        max_results = -1
    if not 5 <= max_results <= 100:
        return invalid("max_results", "`max_results` must be between 5 and 100.", headers)
    rows = SandboxObject.objects.filter(platform=TARGET, kind="tweet", owner=user_id)
    start_time = request.GET.get("start_time")
    if start_time:
        try:
            since = datetime.strptime(start_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return invalid("start_time", "`start_time` must be an ISO 8601 time such as 2026-01-01T00:00:00Z.", headers)
        rows = rows.filter(created_at__gte=since)
    token = request.GET.get("pagination_token")
    if token:
        # Opaque to the client: here, the last post of the previous page; the page goes on after it.
        after = SandboxObject.objects.filter(platform=TARGET, kind="tweet", owner=user_id, object_id=token).first()
        if after is None:
            return invalid("pagination_token", "`pagination_token` is not a token from a previous page.", headers)
        rows = rows.filter(Q(created_at__lt=after.created_at) | Q(created_at=after.created_at, id__lt=after.id))
    rows = list(rows.order_by("-created_at", "-id")[:max_results + 1])
    more, rows = len(rows) > max_results, rows[:max_results]
    fields = _fields(request)
    body: dict = {"meta": {"result_count": len(rows)}}
    if rows:
        body["data"] = [_tweet_json(t, fields) for t in rows]
        body["meta"].update(newest_id=rows[0].object_id, oldest_id=rows[-1].object_id)
        if more:
            body["meta"]["next_token"] = rows[-1].object_id
        keys = [k for t in rows for k in t.data.get("media_keys", [])]
        if keys and "attachments" in fields:
            body["includes"] = {"media": [{"media_key": k, "type": "video"} for k in keys]}
    return _answer(body, headers)


urlpatterns = [
    re_path(r"^2/media/upload/initialize$", initialize, name="x-media-initialize"),
    re_path(r"^2/media/upload/(?P<media_id>\d+)/append$", append, name="x-media-append"),
    re_path(r"^2/media/upload/(?P<media_id>\d+)/finalize$", finalize, name="x-media-finalize"),
    re_path(r"^2/media/upload$", upload_status, name="x-media-status"),
    re_path(r"^2/tweets$", tweets, name="x-tweets"),
    re_path(r"^2/tweets/(?P<tweet_id>\d+)$", tweet_detail, name="x-tweet"),
    re_path(r"^2/users/me$", users_me, name="x-users-me"),
    re_path(r"^2/users/(?P<user_id>\d+)/tweets$", user_tweets, name="x-user-tweets"),
]
