"""Instagram Graph API, content publishing of Reels, as an imitation over loopback.

Follows the Instagram Platform documentation:

- "Content Publishing" and "IG User Media": `POST /{ig-user-id}/media` with `media_type=REELS`,
  `video_url` (a public URL Instagram fetches with cURL; the file must be reachable when the
  container is created), `caption` and optionally `thumb_offset` (the cover frame, in milliseconds)
  creates a container and answers `{"id": <container id>}`. Creating a container publishes nothing.
- "IG Container": `GET /{container-id}?fields=status_code,status` answers `status_code` one of
  `IN_PROGRESS`, `FINISHED`, `ERROR`, `EXPIRED` (not published within 24 hours), `PUBLISHED`;
  `status` carries the error subcode when it is `ERROR`.
- "IG User Media Publish": `POST /{ig-user-id}/media_publish?creation_id=<container id>` answers
  `{"id": <IG media id>}`. This is the one call that creates a post.
- "IG User Content Publishing Limit": `GET /{ig-user-id}/content_publishing_limit?fields=
  quota_usage,config` answers `{"data": [{"quota_usage": n, "config": {"quota_total": t,
  "quota_duration": 86400}}]}`: posts published through the API in a rolling 24 hours.
- "IG Media Insights": `GET /{media-id}/insights?metric=views,reach,likes,comments,shares,saved`
  answers `{"data": [{"name", "period": "lifetime", "values": [{"value": n}], "title",
  "description", "id"}]}`; a metric with no data yet is left out rather than given as 0.
- Graph API "Handling Errors" and "Rate Limits": errors are `{"error": {"message", "type",
  "code", "error_subcode", "fbtrace_id"}}`; throttling arrives as error codes 4 (application),
  17 (user), 32 (page), 613 (custom) and 80002 (Instagram business use case), with the
  `X-App-Usage` and `X-Business-Use-Case-Usage` headers (percent of the budget used, and
  `estimated_time_to_regain_access` in minutes) — not as a 429. Code 9 with subcode 2207042 is
  the 24-hour publishing limit; code 190 a bad access token; code 100 subcode 33 an object that
  does not exist (a deleted media).

Paths are served under the sandbox's Instagram prefix with or without the Graph version segment
(`/v23.0/…`), so the adapter's base URL is the only thing that differs from production.
What the documentation leaves open is chosen here and said so: publishing a container twice is
refused with code 100 ("already been published").
"""

import hashlib
import json
import math
import random
import secrets
import time
from datetime import timedelta

import httpx
from django.conf import settings
from django.http import JsonResponse
from django.urls import re_path, reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sandbox import faults
from sandbox.models import SandboxObject, SandboxPost
from sandbox.views.platforms.public import metrics_at

from . import common
from . import stored as state

TARGET = "instagram"
CONTAINER_LIFETIME = 24 * 3600
PUBLISHING_WINDOW = 24 * 3600
THROTTLE_CODES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80002: "There have been too many calls to this Instagram account. Wait a bit and try again.",
}
CAPTION_LIMIT = 2200
HASHTAG_LIMIT = 30
METRICS = {
    "views": ("Views", "The number of times your reel was played or displayed."),
    "reach": ("Accounts reached", "The number of unique accounts that have seen your reel."),
    "likes": ("Likes", "The number of likes on your reel."),
    "comments": ("Comments", "The number of comments on your reel."),
    "shares": ("Shares", "The number of shares of your reel."),
    "saved": ("Saved", "The number of saves of your reel."),
    "total_interactions": ("Interactions", "Likes, saves, comments and shares, minus unlikes and unsaves."),
    "ig_reels_video_view_total_time": ("Watch time", "Total time your reel was played, in milliseconds."),
    "ig_reels_avg_watch_time": ("Average watch time", "Average time your reel was played, in milliseconds."),
}
# Insights lag behind the post (the documentation: up to 48 hours); here reach and saves appear after
# a short while, so a reader meets metrics that are not there yet.
LAGGING_METRICS = {"reach": 1.0, "saved": 1.0}


# --- errors and throttling in Graph's shape

def graph_error(status: int, message: str, code: int, *, subcode: int | None = None, transient: bool = False,
                user_title: str = "", headers: dict | None = None) -> JsonResponse:
    error: dict = {"message": message, "type": "OAuthException", "code": code,
                   "fbtrace_id": secrets.token_urlsafe(12)}
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient:
        error["is_transient"] = True
    if user_title:
        error["error_user_title"] = user_title
    response = JsonResponse({"error": error}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _usage_headers(user_id: str, percent: int, regain_minutes: int) -> dict:
    return {
        "X-App-Usage": json.dumps({"call_count": percent, "total_cputime": min(percent, 100) // 2,
                                   "total_time": min(percent, 100) // 2}),
        "X-Business-Use-Case-Usage": json.dumps({user_id or "0": [{
            "type": "instagram", "call_count": percent, "total_cputime": min(percent, 100) // 2,
            "total_time": min(percent, 100) // 2, "estimated_time_to_regain_access": regain_minutes,
        }]}),
    }


def set_throttle_code(code: int | None) -> None:
    """Which Graph code an injected rate-limit fault answers with (None: a random one of them)."""
    name = state.key(TARGET, "throttle_code")
    if code is None:
        state.redis().delete(name)
        return
    if code not in THROTTLE_CODES:
        raise ValueError(f"throttle code must be one of {sorted(THROTTLE_CODES)}, got {code!r}")
    state.redis().set(name, str(code))


def _throttle_code() -> int:
    stored = state.redis().get(state.key(TARGET, "throttle_code"))
    return int(stored) if stored else random.choice([4, 17, 32, 613])


def throttled(code: int, user_id: str, regain_seconds: float) -> JsonResponse:
    minutes = int(regain_seconds // 60)  # whole minutes, as Graph reports them
    return graph_error(403 if code in (4, 17, 32) else 400, THROTTLE_CODES[code], code, transient=True,
                       headers=_usage_headers(user_id, 100, minutes))


def calls_per_hour() -> int:
    return int(getattr(settings, "SANDBOX_INSTAGRAM_CALLS_PER_HOUR", 5000))


def publishing_quota() -> int:
    return int(getattr(settings, "SANDBOX_INSTAGRAM_POSTS_PER_DAY", 100))


def _gate(request, user_id: str = "", *, on_accept=None):
    """Token, the per-token hourly budget, then the injected faults, each in Graph's shape.

    Returns (error response or None, usage headers for a normal answer).
    """
    token = state.token_of(request)
    if not token:
        faults.count_call(TARGET)
        return graph_error(400, "An active access token must be used to query information about the "
                                "current user.", 2500), {}
    calls, window_end = state.count_in_window(TARGET, state.token_digest(token), 3600)
    limit = calls_per_hour()
    percent = min(100, calls * 100 // limit) if calls <= limit else 100
    headers = _usage_headers(user_id, percent, 0)
    if calls > limit:
        faults.count_call(TARGET)
        return throttled(17, user_id, window_end - time.time()), {}
    faulted = faults.apply_faults(TARGET, request, on_accept=on_accept)
    if faulted is None:
        return None, headers
    if faulted.status_code == 429:
        return throttled(_throttle_code(), user_id, faults.get_faults(TARGET)["retry_after"]), {}
    if faulted.status_code == 503:
        return graph_error(503, "(#2) Service temporarily unavailable", 2, transient=True), {}
    if faulted.status_code == 500:
        return graph_error(500, "An unexpected error has occurred. Please retry your request later.", 1,
                           transient=True), {}
    return faulted, {}


def _answer(body: dict, headers: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _params(request) -> dict:
    """Graph takes parameters in the query string, a form body or a JSON body alike."""
    params = {k: v for k, v in request.GET.items()}
    if request.method == "POST":
        if request.content_type == "application/json":
            try:
                body = json.loads(request.body or b"{}")
            except (ValueError, UnicodeDecodeError):
                body = None
            if isinstance(body, dict):
                params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()})
        else:
            params.update({k: v for k, v in request.POST.items()})
    params.pop("access_token", None)
    return params


def _missing(name: str) -> JsonResponse:
    return graph_error(400, f"(#100) The parameter {name} is required", 100)


def _no_object(node_id: str, verb: str = "get") -> JsonResponse:
    return graph_error(400, f"Unsupported {verb} request. Object with ID '{node_id}' does not exist, cannot be "
                            "loaded due to missing permissions, or does not support this operation.", 100,
                       subcode=33)


# --- containers (the database, with the platform's lifetime)

def get_container(container_id: str):
    return state.fetch(TARGET, "container", container_id) if container_id.isdigit() else None


def container_status(container, now: float | None = None) -> tuple[str, str]:
    """(status_code, status) as the container reads now."""
    now = time.time() if now is None else now
    data = container.data
    if container.result_id:
        return "PUBLISHED", "Published: the media has been published."
    if data.get("error"):
        if now >= data["ready_at"]:
            return "ERROR", data["error"]
        return "IN_PROGRESS", "In Progress: media is being processed."
    if container.expires_at is not None and now >= container.expires_at.timestamp():
        return "EXPIRED", "Expired: the container was not published within 24 hours."
    if now >= data["ready_at"]:
        return "FINISHED", "Finished: Media has been uploaded and it is ready to be published."
    return "IN_PROGRESS", "In Progress: media is being processed."


def _fetch_video(url: str) -> tuple[bytes | None, str]:
    """Download the container's video as Instagram does (a plain GET of the public URL)."""
    try:
        response = httpx.get(url, timeout=10.0, follow_redirects=True)
    except httpx.HTTPError as exc:
        return None, ("Error: Media download has failed. The media URI could not be fetched "
                      f"({exc.__class__.__name__}). (2207052)")
    if response.status_code != 200:
        return None, (f"Error: Media download has failed. The media URI answered HTTP {response.status_code}. "
                      "(2207052)")
    return response.content, ""


@csrf_exempt
@require_http_methods(["GET", "POST"])
def user_media(request, user_id: str):
    """IG User Media: POST creates a container, GET lists the account's published media, newest first."""
    if request.method == "POST":
        return create_container(request, user_id)
    denied, headers = _gate(request, user_id)
    if denied is not None:
        return denied
    fields = [f for f in request.GET.get("fields", "id").split(",") if f]
    try:
        limit = max(1, min(int(request.GET.get("limit", 25)), 100))
    except ValueError:
        return graph_error(400, "(#100) The parameter limit must be an integer", 100)
    ids = list(SandboxObject.objects.filter(platform=TARGET, kind="media", owner=user_id)
               .order_by("-created_at", "-id").values_list("object_id", flat=True)[:limit])
    posts = {p.remote_id: p for p in SandboxPost.objects.filter(platform=TARGET, remote_id__in=ids)}
    data = [_media_fields(request, posts[i], fields) for i in ids if i in posts]
    body: dict = {"data": data}
    if data:
        body["paging"] = {"cursors": {"before": data[0]["id"], "after": data[-1]["id"]}}
    return _answer(body, headers)


def _media_fields(request, post, fields: list[str]) -> dict:
    values = {
        "id": post.remote_id, "caption": post.caption, "media_type": "VIDEO", "media_product_type": "REELS",
        "permalink": _permalink(request, post.remote_id),
        "timestamp": (post.published_at or post.accepted_at).strftime("%Y-%m-%dT%H:%M:%S+0000"),
    }
    return {name: values[name] for name in ["id", *fields] if name in values}


def create_container(request, user_id: str):
    denied, headers = _gate(request, user_id)
    if denied is not None:
        return denied
    params = _params(request)
    media_type = params.get("media_type", "")
    if not media_type:
        return _missing("media_type")
    if media_type == "VIDEO":
        return graph_error(400, "(#100) The VIDEO media type is no longer supported for feed videos; use "
                                "REELS.", 100, subcode=2207067)
    if media_type != "REELS":
        return graph_error(400, f"(#100) media_type must be one of REELS, STORIES, CAROUSEL (this imitation "
                                f"publishes reels only), got {media_type!r}", 100)
    video_url = params.get("video_url", "")
    if not video_url:
        return _missing("video_url")
    caption = params.get("caption", "")
    if len(caption) > CAPTION_LIMIT:
        return graph_error(400, f"(#100) The caption is longer than {CAPTION_LIMIT} characters.", 100,
                           subcode=2207010)
    if caption.count("#") > HASHTAG_LIMIT:
        return graph_error(400, f"(#100) The caption has more than {HASHTAG_LIMIT} hashtags.", 100,
                           subcode=2207010)

    thumb_offset = params.get("thumb_offset", "0")
    if not thumb_offset.isdigit():
        return graph_error(400, f"(#100) Param thumb_offset must be a non-negative integer (milliseconds), got "
                                f"{thumb_offset!r}", 100)

    content, error = _fetch_video(video_url)
    if content is not None and not state.is_mp4(content[:16]):
        content, error = None, "Error: The video format is not supported. Please check spec for supported " \
                               "format. (2207026)"
    container_id = state.numeric_id()
    state.store(
        TARGET, "container", container_id, owner=user_id,
        lifetime=getattr(settings, "SANDBOX_INSTAGRAM_CONTAINER_LIFETIME", CONTAINER_LIFETIME),
        video_url=video_url, caption=caption, media_type=media_type, error=error, thumb_offset=int(thumb_offset),
        ready_at=time.time() + settings.SANDBOX_PROCESSING_SECONDS,
        size=len(content or b""), sha256=hashlib.sha256(content).hexdigest() if content else "",
    )
    return _answer({"id": container_id}, headers)


def _published_in_window(user_id: str, now: float):
    since = timezone.now() - timedelta(seconds=PUBLISHING_WINDOW - (time.time() - now))
    return SandboxObject.objects.filter(platform=TARGET, kind="media", owner=user_id, created_at__gte=since)


def quota_usage(user_id: str, now: float | None = None) -> int:
    return _published_in_window(user_id, time.time() if now is None else now).count()


def _oldest_in_window(user_id: str, now: float) -> float | None:
    oldest = _published_in_window(user_id, now).order_by("created_at").first()
    return oldest.created_at.timestamp() if oldest else None


@csrf_exempt
@require_POST
def media_publish(request, user_id: str):
    params = _params(request)
    creation_id = params.get("creation_id", "")
    container = get_container(creation_id)

    def publish(response_lost: bool = False) -> str | None:
        """Publish the container once: the media id, or None when another call already did."""
        media_id = state.numeric_id()
        if not state.claim_result(container, media_id):
            return None
        now = timezone.now()
        data = container.data
        state.store(TARGET, "media", media_id, owner=user_id, container_id=creation_id)
        account = common.account_of(state.token_of(request))
        SandboxPost.objects.create(
            platform=TARGET, remote_id=media_id, account=account, handle=creation_id,
            asset_ref=common.fingerprint(TARGET, account, "", data["caption"], data["sha256"]),
            caption=data["caption"], size_bytes=data["size"], sha256=data["sha256"], status=SandboxPost.PUBLISHED,
            published_at=now, accepted_at=now, response_lost=response_lost,
        )
        return media_id

    ready = container is not None and container_status(container)[0] == "FINISHED" \
        and container.owner == user_id and quota_usage(user_id) < publishing_quota()
    denied, headers = _gate(request, user_id, on_accept=(lambda: publish(True)) if ready else None)
    if denied is not None:
        return denied
    if not creation_id:
        return _missing("creation_id")
    if container is None or container.owner != user_id:
        return _no_object(creation_id, "post")
    status_code, status = container_status(container)
    if status_code == "PUBLISHED":
        return graph_error(400, "(#100) This media container has already been published.", 100)
    if status_code != "FINISHED":
        return graph_error(400, "Media ID is not available: the media is not ready for publishing, please wait "
                                f"for a moment ({status}).", 9007, subcode=2207027,
                           user_title="Media ID is not available")
    now = time.time()
    if quota_usage(user_id, now) >= publishing_quota():
        oldest = _oldest_in_window(user_id, now) or now
        regain = oldest + PUBLISHING_WINDOW - now
        return graph_error(400, "Application request limit reached: you have reached the maximum number of posts "
                                "that is allowed to be published by API in 24 hours.", 9, subcode=2207042,
                           transient=True, user_title="Max publish limit reached",
                           headers=_usage_headers(user_id, 100, max(1, math.ceil(regain / 60))))
    media_id = publish()
    if media_id is None:
        return graph_error(400, "(#100) This media container has already been published.", 100)
    return _answer({"id": media_id}, headers)


@csrf_exempt
@require_GET
def content_publishing_limit(request, user_id: str):
    denied, headers = _gate(request, user_id)
    if denied is not None:
        return denied
    fields = [f for f in request.GET.get("fields", "quota_usage").split(",") if f]
    row: dict = {}
    if "quota_usage" in fields:
        row["quota_usage"] = quota_usage(user_id)
    if "config" in fields:
        row["config"] = {"quota_total": publishing_quota(), "quota_duration": PUBLISHING_WINDOW}
    return _answer({"data": [row]}, headers)


def _permalink(request, media_id: str) -> str:
    return request.build_absolute_uri(reverse("sandbox:platform-watch", args=[TARGET, media_id]))


@csrf_exempt
@require_GET
def node(request, node_id: str):
    """A container or a published media, whichever the id names, with the fields asked for."""
    denied, headers = _gate(request)
    if denied is not None:
        return denied
    fields = [f for f in request.GET.get("fields", "id").split(",") if f]
    container = get_container(node_id)
    if container is not None:
        status_code, status = container_status(container)
        values = {"id": node_id, "status_code": status_code, "status": status}
        return _answer({name: values[name] for name in ["id", *fields] if name in values}, headers)
    post = SandboxPost.objects.filter(platform=TARGET, remote_id=node_id).first()
    if post is None:
        return _no_object(node_id)
    return _answer(_media_fields(request, post, fields), headers)


@csrf_exempt
@require_GET
def insights(request, media_id: str):
    denied, headers = _gate(request)
    if denied is not None:
        return denied
    requested = [m for m in request.GET.get("metric", "").split(",") if m]
    if not requested:
        return _missing("metric")
    unknown = [m for m in requested if m not in METRICS]
    if unknown:
        return graph_error(400, f"(#100) metric[{requested.index(unknown[0])}] must be one of the following "
                                f"values: {', '.join(METRICS)}", 100)
    post = SandboxPost.objects.filter(platform=TARGET, remote_id=media_id).first()
    if post is None:
        return _no_object(media_id)
    age = (timezone.now() - post.accepted_at).total_seconds()
    numbers = metrics_at(post.remote_id, age)
    views = numbers["views"]
    values = {
        "views": views, "reach": views * 4 // 5, "likes": numbers["likes"], "comments": numbers["comments"],
        "shares": numbers["shares"], "saved": numbers["likes"] // 10,
        "total_interactions": numbers["likes"] + numbers["comments"] + numbers["shares"] + numbers["likes"] // 10,
        "ig_reels_video_view_total_time": views * 7000, "ig_reels_avg_watch_time": 7000 if views else 0,
    }
    data = []
    for name in requested:
        if age < LAGGING_METRICS.get(name, 0.0):
            continue
        title, description = METRICS[name]
        data.append({"name": name, "period": "lifetime", "values": [{"value": values[name]}], "title": title,
                     "description": description, "id": f"{media_id}/insights/{name}/lifetime"})
    return _answer({"data": data}, headers)


VERSION = r"(?:v\d+\.\d+/)?"
urlpatterns = [
    re_path(rf"^{VERSION}(?P<user_id>[\w.-]+)/media$", user_media, name="instagram-media"),
    re_path(rf"^{VERSION}(?P<user_id>[\w.-]+)/media_publish$", media_publish, name="instagram-media-publish"),
    re_path(rf"^{VERSION}(?P<user_id>[\w.-]+)/content_publishing_limit$", content_publishing_limit,
            name="instagram-publishing-limit"),
    re_path(rf"^{VERSION}(?P<media_id>\d+)/insights$", insights, name="instagram-insights"),
    re_path(rf"^{VERSION}(?P<node_id>\d+)$", node, name="instagram-node"),
]
