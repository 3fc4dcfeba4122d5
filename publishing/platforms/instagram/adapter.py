"""Instagram Reels through the Instagram Graph API's content publishing.

Relies on these documented behaviours (Instagram Platform, "Content Publishing" and the reference
pages of IG User Media, IG Container, IG User Media Publish, IG User Content Publishing Limit, IG
Media and IG Media Insights):

- A Reels container is created with `POST /{ig-user-id}/media` (`media_type=REELS`, `video_url`,
  `caption`, `share_to_feed`, and `thumb_offset`: the cover frame, in milliseconds from the start,
  the first frame when absent). Instagram fetches `video_url` itself, so Phantoms serves the rendition
  behind a signed, expiring link (phantoms.signed_media) under PHANTOMS_PUBLIC_URL. Creating
  a container posts nothing; it expires unpublished after 24 hours.
- `GET /{container-id}?fields=status_code,status` says IN_PROGRESS, FINISHED, ERROR (with the reason
  in `status`), EXPIRED or PUBLISHED.
- `POST /{ig-user-id}/media_publish` with `creation_id` is the one call that creates the post; it
  answers the IG media id. The post is live at once (no processing after publishing).
- `GET /{ig-user-id}/content_publishing_limit?fields=quota_usage,config` counts the posts published
  through the API in a rolling 24 hours against `config.quota_total`: read before each publish.
- `GET /{ig-user-id}/media?fields=id,caption,timestamp,permalink` lists the account's media, newest
  first; `GET /{media-id}/insights?metric=…` reads one media's metrics (one id per call), leaving out
  a metric that has no data.

Exactly once: the container id is stored (its own commit) before anything depends on it, and the
moment of the publish call is stored before it is sent. After a lost answer the container's
`status_code` is the proof: FINISHED means no post was made from it and publishing is repeated;
PUBLISHED means it was, and the media is found in the account's recent media by its caption and
time; EXPIRED means it never was. Throttling (errors.py) is a deferral, never a failure.
"""

import time
from datetime import datetime

from django.conf import settings

from phantoms.engine.handler import GiveUp
from phantoms.resilience.errors import ConfigurationError, NotReady, PermanentError, ProviderError, RateLimited
from phantoms.signed_media import signed_url
from publishing.platforms import credentials
from publishing.platforms.base import METRIC_NAMES, Adapter, MetricsReading, Posted, RenditionSpec

from . import errors

GRAPH_VERSION = "v23.0"
CONTAINER_FIELDS = "status_code,status"
# The metrics asked of a reel, and the canonical names they fill (MetricsReading).
INSIGHTS = {"views": "views", "likes": "likes", "comments": "comments", "shares": "shares", "saved": "saves",
            "ig_reels_video_view_total_time": "watch_time_seconds"}


class Gone(PermanentError):
    """Graph says the object does not exist (code 100, subcode 33): a deleted media."""


class Instagram(Adapter):
    name = "instagram"
    metrics_batch = 1
    title_limit = 100
    caption_limit = 2200
    max_hashtags = 30
    # Reels specifications: MP4, H.264, AAC, 3 s to 15 min, at most 300 MB, 23-60 fps, up to 1920 px.
    rendition = RenditionSpec(max_duration=900.0, max_bytes=300 * 1024 * 1024, min_duration=3.0, max_fps=60.0)

    # --- paths
    def path(self, *parts: str) -> str:
        return "/".join([GRAPH_VERSION, *parts])

    @property
    def user(self) -> str:
        return self.channel.account_id

    # --- errors
    def throttled(self, response):
        return errors.throttle_wait(response)

    def check(self, response, provider):
        if response.status_code >= 400:
            error = errors.graph_error(response)
            code, subcode = errors.code_of(error)
            message = errors.message_of(response)
            if code in errors.BAD_TOKEN:
                credentials.on_unauthorized(self.channel, message)
            if (code, subcode) == errors.NOT_READY:
                raise NotReady(message, retry_after=settings.PUBLISH_POLL_INTERVAL, provider=provider)
            wait = self.throttled(response)
            if wait is not None:
                raise RateLimited(message, retry_after=wait, provider=provider, status_code=response.status_code)
            if (code, subcode) == errors.NO_SUCH_OBJECT:
                raise Gone(message, provider=provider, status_code=response.status_code)
            if 400 <= response.status_code < 500:
                raise PermanentError(message, provider=provider, status_code=response.status_code)
        return super().check(response, provider)

    # --- publishing
    def publish(self, request):
        handles = request.handles
        if handles.get("media_id"):
            return Posted(handles.get("media_id"), "published", handles.get("permalink", ""))
        container_id = handles.get("container_id")
        if container_id:
            status_code, status = self.container_status(container_id)
            if handles.get("publish_sent_at"):
                handles.note(f"GET {container_id}?fields={CONTAINER_FIELDS}", f"{status_code}: {status}")
            if status_code == "PUBLISHED":
                return self._found_published(request, container_id)
            if status_code == "FINISHED":
                return self._publish_container(request, container_id)
            if status_code == "IN_PROGRESS":
                self._wait_for_processing(handles)
            if status_code == "ERROR":
                raise self.rejected(f"Instagram could not process the video of container {container_id}: {status}")
            # EXPIRED: never published (containers expire only unpublished), so a new one is safe.
            handles.save(container_id=None, container_created_at=None, publish_sent_at=None)
        self._check_publishing_limit()
        cover = self.cover_ms(request)
        response = self.call("POST", self.path(self.user, "media"), data={
            "media_type": "REELS", "video_url": self.video_url(request.video), "caption": request.copy.caption,
            "share_to_feed": "true", **({} if cover is None else {"thumb_offset": str(cover)}),
        })
        handles.save(container_id=str(response.json()["id"]), container_created_at=time.time())
        raise NotReady(f"container {handles.get('container_id')} is being processed by Instagram",
                       retry_after=settings.PUBLISH_POLL_INTERVAL, provider=self.provider)

    def video_url(self, video) -> str:
        """A signed, expiring link to the rendition, where Instagram can fetch it."""
        sandbox = settings.SANDBOX_URL if settings.PHANTOMS_SANDBOX else ""
        base = getattr(settings, "PHANTOMS_PUBLIC_URL", "") or sandbox
        if not base:
            raise ConfigurationError("PHANTOMS_PUBLIC_URL must be set: Instagram fetches the video from it",
                                     provider=self.provider)
        try:
            return signed_url(video, base=base)
        except ValueError as exc:
            raise ConfigurationError(f"the rendition cannot be served to Instagram: {exc}", provider=self.provider)

    def container_status(self, container_id: str) -> tuple[str, str]:
        body = self.call("GET", self.path(container_id), params={"fields": CONTAINER_FIELDS}).json()
        return str(body.get("status_code", "")), str(body.get("status", ""))

    def _wait_for_processing(self, handles):
        age = time.time() - float(handles.get("container_created_at") or time.time())
        if age > settings.PUBLISH_PROCESSING_DEADLINE:
            raise self.rejected(f"Instagram was still processing container {handles.get('container_id')} after "
                                f"{int(age)} s (deadline {settings.PUBLISH_PROCESSING_DEADLINE} s)")
        raise NotReady(f"container {handles.get('container_id')} is IN_PROGRESS",
                       retry_after=settings.PUBLISH_POLL_INTERVAL, provider=self.provider)

    def _check_publishing_limit(self):
        body = self.call("GET", self.path(self.user, "content_publishing_limit"),
                         params={"fields": "quota_usage,config"}).json()
        row = (body.get("data") or [{}])[0]
        used = int(row.get("quota_usage") or 0)
        config = row.get("config") or {}
        total = int(config.get("quota_total") or 0)
        if total and used >= total:
            window = float(config.get("quota_duration") or errors.PUBLISH_LIMIT_WAIT)
            raise RateLimited(f"{used} of {total} posts published through the API in the last "
                              f"{int(window // 3600)} h", retry_after=min(window, errors.PUBLISH_LIMIT_WAIT),
                              provider=self.provider)

    def _publish_container(self, request, container_id: str):
        handles = request.handles
        self._check_publishing_limit()
        # Stored before the call: a run that finds it knows the answer may have been lost.
        handles.save(publish_sent_at=time.time())
        response = self.call("POST", self.path(self.user, "media_publish"), data={"creation_id": container_id},
                             irreversible=True)
        media_id = str(response.json()["id"])
        handles.save(media_id=media_id)
        return self._posted(media_id, handles)

    def _found_published(self, request, container_id: str):
        """The container was published by a call whose answer was lost: find its media."""
        handles = request.handles
        since = float(handles.get("container_created_at") or 0) - 60
        body = self.call("GET", self.path(self.user, "media"),
                         params={"fields": "id,caption,timestamp,permalink", "limit": "50"}).json()
        caption = request.copy.caption
        for media in body.get("data", []):
            if media.get("caption") == caption and _epoch(media.get("timestamp", "")) >= since:
                handles.note(f"GET {self.user}/media", f"media {media['id']} has our caption: it is our post")
                handles.save(media_id=str(media["id"]), permalink=media.get("permalink", ""))
                return Posted(str(media["id"]), "published", media.get("permalink", ""))
        handles.note(f"GET {self.user}/media", f"container {container_id} is PUBLISHED but none of the "
                                               f"{len(body.get('data', []))} recent media has our caption")
        raise GiveUp(f"container {container_id} is published, but none of the account's recent media has our "
                     "caption: a person has to find the post")

    def _posted(self, media_id: str, handles) -> Posted:
        try:
            body = self.call("GET", self.path(media_id), params={"fields": "id,permalink"}).json()
            handles.save(permalink=body.get("permalink", ""))
        except ProviderError:
            pass  # the post exists; its link can be read later (status)
        return Posted(media_id, "published", handles.get("permalink", ""))

    def status(self, remote_id, handles):
        # A reel is live once media_publish answers; there is nothing more to wait for.
        return Posted(remote_id, "published", handles.get("permalink", "") if handles else "")

    # --- metrics
    def fetch_metrics(self, post_ids):
        readings = {}
        for media_id in post_ids:
            try:
                body = self.call("GET", self.path(media_id, "insights"),
                                 params={"metric": ",".join(INSIGHTS)}).json()
            except Gone:
                readings[media_id] = MetricsReading({name: None for name in _names()}, gone=True)
                continue
            values: dict[str, int | None] = {name: None for name in _names()}
            for entry in body.get("data", []):
                name = INSIGHTS.get(entry.get("name"))
                points = entry.get("values") or []
                if name and points and isinstance(points[0].get("value"), int | float):
                    value = points[0]["value"]
                    values[name] = int(value / 1000) if name == "watch_time_seconds" else int(value)
            readings[media_id] = MetricsReading(values)
        return readings


def _names():
    return METRIC_NAMES


def _epoch(timestamp: str) -> float:
    try:
        return datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except ValueError:
        return 0.0
