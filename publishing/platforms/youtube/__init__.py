"""YouTube: Data API v3 `videos.insert` with the resumable upload protocol, and the Analytics API.

What this relies on, as YouTube documents it:

- Resumable uploads ("Resumable Uploads" guide, YouTube Data API v3): `POST
  /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status` with the video resource as JSON
  and `X-Upload-Content-Length` / `X-Upload-Content-Type`; the answer's `Location` header is the
  session URI. We store it before sending a byte. The bytes go with `PUT <session URI>` in chunks
  that are multiples of 256 KiB, each with `Content-Range: bytes a-b/total`; `308 Resume Incomplete`
  with `Range: bytes=0-N` means send from N+1; `200`/`201` carries the created video resource.
- After a lost answer: `PUT <session URI>` with an empty body and `Content-Range: bytes */total`.
  308 → resume from its `Range`; 200/201 → the video exists (its id is in the body); 404/410 → the
  session expired and no video was made from it, so a new session is safe.
- Custom thumbnail ("Thumbnails: set"): `POST /upload/youtube/v3/thumbnails/set?videoId=…` with the
  image as the body (image/jpeg or image/png, at most 2 MB, about 50 quota units); 400 `invalidImage`
  / `mediaBodyRequired`, 403 `forbidden` when the channel may not set custom thumbnails, 404
  `videoNotFound`.
- Processing: `videos.list` with `part=status,processingDetails` (`status.uploadStatus`: uploaded,
  processed, failed, rejected, deleted; `failureReason` / `rejectionReason`).
- Quota ("Quota costs"): per project per day, reset at midnight Pacific Time; `videos.insert` has its
  own bucket (youtube/quota.py). Errors in Google's shape, `error.errors[].reason`: `quotaExceeded`
  and `uploadLimitExceeded` (403) wait for the reset; `rateLimitExceeded` / `userRateLimitExceeded`
  (403 or 429) wait briefly. None of them is permanent.
- Metrics: `videos.list?part=statistics` (viewCount, likeCount, commentCount, as strings) for up to 50
  ids; YouTube Analytics API v2 `reports` (views, shares, estimatedMinutesWatched per video).
"""

from datetime import date, timedelta

import httpx
from django.conf import settings

from phantoms.resilience.errors import ProviderError
from phantoms.resilience.http import retry_after_seconds

from ..base import Adapter, Copy, MetricsReading, Posted, PublishRequest, RenditionSpec
from . import quota

CHUNK_UNIT = 256 * 1024
# thumbnails.set: "Maximum file size: 2MB", "a quota cost of approximately 50 units".
THUMBNAIL_MAX_BYTES = 2 * 1024 * 1024
THUMBNAIL_UNITS = 50
QUOTA_REASONS = {"quotaExceeded", "uploadLimitExceeded", "dailyLimitExceeded"}
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
FAILED = {"failed", "rejected", "deleted"}


def google_reason(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        return (error.get("errors") or [{}])[0].get("reason", "") or error.get("status", "")
    except (ValueError, AttributeError):
        return ""


class YouTube(Adapter):
    name = "youtube"
    metrics_batch = 50
    title_limit = 100
    caption_limit = 5000
    # YouTube ignores every hashtag of a description that has more than 15.
    max_hashtags = 15
    # Shorts: up to three minutes, vertical; uploads themselves may be far larger.
    rendition = RenditionSpec(max_duration=180.0, max_bytes=256 * 1024 * 1024, max_width=1080, max_height=1920,
                              max_fps=60.0)

    # --- words
    def shape_copy(self, copy: Copy) -> Copy:
        # "<" and ">" are refused in titles (invalidTitle); #Shorts files a vertical video as a Short.
        copy.title = copy.title.replace("<", "").replace(">", "").strip() or "Untitled"
        if not any(tag.lower() == "#shorts" for tag in copy.hashtags):
            copy.hashtags = [*copy.hashtags[: self.max_hashtags - 1], "#Shorts"]
        return super().shape_copy(copy)

    def video_resource(self, copy: Copy) -> dict:
        return {
            "snippet": {"title": copy.title, "description": copy.caption,
                        "tags": [tag.lstrip("#") for tag in copy.hashtags],
                        "categoryId": settings.YOUTUBE_CATEGORY_ID},
            "status": {"privacyStatus": settings.YOUTUBE_PRIVACY_STATUS, "selfDeclaredMadeForKids": False},
        }

    # --- errors
    def throttled(self, response: httpx.Response) -> float | None:
        if response.status_code not in (403, 429):
            return None
        reason = google_reason(response)
        if reason in QUOTA_REASONS:
            # videos.insert has its own bucket; every other method shares the units.
            if reason == "quotaExceeded":
                quota.exhausted(quota.INSERTS if response.request.url.path.endswith("/upload/youtube/v3/videos")
                                else quota.UNITS)
            return quota.seconds_until_reset()
        if reason in RATE_REASONS or response.status_code == 429:
            return retry_after_seconds(response.headers)
        return None

    # --- publish
    def publish(self, request: PublishRequest) -> Posted:
        handles = request.handles
        total = request.video.stat().st_size
        if not total:
            raise self.rejected(f"the rendition at {request.video} is empty")
        session, offset = handles.get("session_uri"), 0
        if session:
            # An earlier run may have sent the last byte and lost the answer: ask the session first.
            handles.uncertain = True
            video, offset = self._ask_session(session, total, handles)
            if video is not None:
                return self._with_cover(self._posted(video), request)
            if offset is None:
                session, offset = None, 0
        if not session:
            session = self._start_session(request, total)
            # Its own commit, before the first byte: the session is how we find out later.
            handles.save(session_uri=session, total=total)
        return self._with_cover(self._send_bytes(session, request, total, offset, handles), request)

    def _with_cover(self, posted: Posted, request: PublishRequest) -> Posted:
        """The editor's cover as the video's custom thumbnail: best effort, once the video exists.

        The post is made whatever happens here, so no failure of thumbnails.set fails or repeats it
        (a channel YouTube does not allow custom thumbnails answers 403 `forbidden`); the publication's
        evidence says why the cover was not set. Setting it again after a lost answer is harmless.
        """
        cover, handles = request.cover, request.handles
        if cover is None or posted.status == "failed" or handles.get("thumbnail_set") == posted.id:
            return posted
        asked = f"POST thumbnails/set?videoId={posted.id}"
        try:
            data = cover.read_bytes()
        except OSError as exc:  # the file went away since the run began: the post must not wait for it
            handles.note(asked, f"not sent: the cover could not be read ({exc.strerror or exc})")
            return posted
        if len(data) > THUMBNAIL_MAX_BYTES:
            handles.note(asked, f"not sent: the cover is {len(data)} bytes, over thumbnails.set's 2 MB")
            return posted
        try:
            quota.spend(quota.UNITS, THUMBNAIL_UNITS)
            self.call("POST", "upload/youtube/v3/thumbnails/set", params={"videoId": posted.id}, content=data,
                      headers={"Content-Type": "image/png" if cover.suffix.lower() == ".png" else "image/jpeg"})
        except ProviderError as exc:
            handles.note(asked, f"the cover was not set: {exc}")
            return posted
        handles.save(thumbnail_set=posted.id)
        return posted

    def _start_session(self, request: PublishRequest, total: int) -> str:
        quota.spend(quota.INSERTS)
        response = self.call("POST", "upload/youtube/v3/videos",
                             params={"uploadType": "resumable", "part": "snippet,status"},
                             json=self.video_resource(request.copy),
                             headers={"X-Upload-Content-Length": str(total), "X-Upload-Content-Type": "video/mp4"})
        location = response.headers.get("Location")
        if not location:
            raise self.rejected("YouTube started an upload session without a Location header")
        return location

    def _ask_session(self, session: str, total: int, handles) -> tuple[dict | None, int | None]:
        """(video resource, None) when the upload finished; (None, next offset) to resume; (None, None)
        when the session is gone and made no video."""
        response = self.call("PUT", session, content=b"", accept=(404, 410),
                             headers={"Content-Range": f"bytes */{total}", "Content-Length": "0"})
        asked = f"PUT session with Content-Range: bytes */{total}"
        if response.status_code in (200, 201):
            video = response.json()
            handles.note(asked, f"{response.status_code}: video {video.get('id')} exists")
            return video, None
        if response.status_code in (404, 410):
            handles.note(asked, f"{response.status_code}: the session expired; no video was made from it")
            handles.save(session_uri=None)
            return None, None
        offset = next_offset(response)
        handles.note(asked, f"308: {offset} of {total} bytes received")
        return None, offset

    def _send_bytes(self, session: str, request: PublishRequest, total: int, offset: int, handles) -> Posted:
        chunk_size = max(CHUNK_UNIT, settings.YOUTUBE_UPLOAD_CHUNK_BYTES // CHUNK_UNIT * CHUNK_UNIT)
        with request.video.open("rb") as video:
            while True:
                video.seek(offset)
                data = video.read(chunk_size)
                end = offset + len(data) - 1
                last = end + 1 >= total
                # The last chunk makes the video: a timeout there is an unknown outcome, and any
                # failure from here on is answered by asking the session (handles.uncertain).
                handles.uncertain = handles.uncertain or last
                response = self.call("PUT", session, irreversible=last, content=data,
                                     headers={"Content-Range": f"bytes {offset}-{end}/{total}",
                                              "Content-Type": "video/mp4"})
                if response.status_code in (200, 201):
                    return self._posted(response.json())
                if response.status_code != 308:
                    raise self.rejected(f"unexpected {response.status_code} to an upload chunk")
                offset = next_offset(response)
                if offset >= total:
                    raise self.rejected("YouTube holds every byte but did not return the video")

    def _posted(self, video: dict) -> Posted:
        status = video.get("status", {})
        upload_status = status.get("uploadStatus", "uploaded")
        if upload_status in FAILED:
            return Posted(id=video["id"], status="failed", url=self.watch_url(video["id"]),
                          reason=status.get("failureReason") or status.get("rejectionReason") or upload_status)
        return Posted(id=video["id"], status="published" if upload_status == "processed" else "processing",
                      url=self.watch_url(video["id"]))

    @staticmethod
    def watch_url(video_id: str) -> str:
        return f"https://www.youtube.com/shorts/{video_id}"

    # --- processing
    def status(self, remote_id: str, handles) -> Posted:
        quota.spend(quota.UNITS)
        items = self.call("GET", "youtube/v3/videos",
                          params={"part": "status,processingDetails", "id": remote_id}).json().get("items", [])
        if not items:
            return Posted(id=remote_id, status="failed", reason="the video no longer exists (videos.list is empty)")
        return self._posted(items[0])

    # --- metrics
    @property
    def analytics_url(self) -> str:
        if self.base_url == "https://www.googleapis.com":
            return "https://youtubeanalytics.googleapis.com"
        return f"{self.base_url}/youtubeanalytics"

    def fetch_metrics(self, post_ids: list[str]) -> dict[str, MetricsReading]:
        quota.spend(quota.UNITS)
        items = self.call("GET", "youtube/v3/videos",
                          params={"part": "statistics", "id": ",".join(post_ids), "maxResults": len(post_ids)}
                          ).json().get("items", [])
        readings = {post_id: MetricsReading({}, gone=True) for post_id in post_ids}
        for item in items:
            stats = item.get("statistics", {})
            readings[item["id"]] = MetricsReading({
                "views": _int(stats.get("viewCount")), "likes": _int(stats.get("likeCount")),
                "comments": _int(stats.get("commentCount")), "shares": None, "saves": None,
                "watch_time_seconds": None, "impressions": None})
        live = [item["id"] for item in items]
        if live:
            for video_id, shares, minutes in self._analytics(live):
                if video_id in readings:
                    readings[video_id].values["shares"] = _int(shares)
                    readings[video_id].values["watch_time_seconds"] = (
                        None if minutes is None else int(round(float(minutes) * 60)))
        return readings

    def _analytics(self, video_ids: list[str]) -> list[tuple]:
        today = date.today()
        body = self.call("GET", f"{self.analytics_url}/v2/reports", params={
            "ids": "channel==MINE", "startDate": (today - timedelta(days=365)).isoformat(),
            "endDate": today.isoformat(), "metrics": "shares,estimatedMinutesWatched", "dimensions": "video",
            "filters": f"video=={','.join(video_ids)}"}).json()
        names = [header["name"] for header in body.get("columnHeaders", [])]
        rows = []
        for row in body.get("rows") or []:
            values = dict(zip(names, row, strict=False))
            rows.append((values.get("video"), values.get("shares"), values.get("estimatedMinutesWatched")))
        return rows


def next_offset(response: httpx.Response) -> int:
    """Where to resume after a 308: one past the end of its `Range: bytes=0-N` (no Range: nothing kept)."""
    received = response.headers.get("Range", "")
    if not received.startswith("bytes="):
        return 0
    return int(received.split("-")[-1]) + 1


def _int(value) -> int | None:
    return None if value in (None, "") else int(value)

