"""TikTok: the Content Posting API's Direct Post with FILE_UPLOAD, and the Display API's video query.

What this relies on, as TikTok for Developers documents it:

- `POST /v2/post/publish/creator_info/query/` first: the privacy levels the creator allows
  (`privacy_level_options`), `max_video_post_duration_sec`, and whether comments, duets and stitches
  can be turned on. The post's settings must be among them.
- `POST /v2/post/publish/video/init/` with `post_info` (title, privacy_level, disable_* flags,
  `video_cover_timestamp_ms`: the frame, in milliseconds, used as the cover) and
  `source_info` {source: FILE_UPLOAD, video_size, chunk_size, total_chunk_count} → `publish_id` and
  `upload_url`. We store both at once, before the first byte. Media Transfer Guide, chunk rules:
  chunks of 5 to 64 MB, uploaded in order; `total_chunk_count` is video_size / chunk_size rounded
  down, the last chunk taking the trailing bytes; a video under 5 MB goes whole as one chunk.
- `PUT upload_url` per chunk with `Content-Type: video/mp4` and `Content-Range: bytes a-b/total`
  (206 while chunks remain, 201 when the file is complete). An init whose upload never completes never
  becomes a post, which is what makes a fresh init safe when the old one cannot be finished.
- `POST /v2/post/publish/status/fetch/` with `publish_id` → `status` (PROCESSING_UPLOAD,
  PROCESSING_DOWNLOAD, SEND_TO_USER_INBOX, PUBLISH_COMPLETE, FAILED with `fail_reason`),
  `uploaded_bytes`, and `publicaly_available_post_id` (spelled so in the API) once the post is public.
  After a lost answer this is the question we ask.
- Errors in the body, `error.code` (`ok` on success): `rate_limit_exceeded` (init 6 a minute and
  status fetch 30 a minute per user token) is a deferral, as is `spam_risk_too_many_posts` (the
  creator's daily cap); `access_token_invalid` goes to credentials; the rest are permanent.
- Metrics: `POST /v2/video/query/?fields=id,view_count,like_count,comment_count,share_count` with
  `filters.video_ids` (at most 20).
"""

import json

import httpx
from django.conf import settings

from phantoms.resilience.errors import RateLimited
from phantoms.resilience.http import provider_message, raise_for_status, retry_after_seconds

from .. import credentials
from ..base import Adapter, Copy, MetricsReading, Posted, PublishRequest, RenditionSpec

MB = 1024 * 1024
MIN_CHUNK, MAX_CHUNK = 5 * MB, 64 * MB
DONE, FAILED = "PUBLISH_COMPLETE", "FAILED"
THROTTLED = {"rate_limit_exceeded": None, "spam_risk_too_many_posts": 3600.0}
PRIVACY_FALLBACK = ("SELF_ONLY", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "PUBLIC_TO_EVERYONE")


def chunk_plan(size: int, preferred: int) -> tuple[int, int]:
    """(chunk_size, total_chunk_count) by the Media Transfer Guide's rules."""
    if size < MIN_CHUNK:
        return size, 1
    chunk = min(max(preferred, MIN_CHUNK), MAX_CHUNK, size)
    return chunk, max(1, size // chunk)


def chunk_spans(size: int, chunk: int, count: int) -> list[tuple[int, int]]:
    """(first, last) byte of each chunk; the last chunk takes the trailing bytes."""
    spans = [(index * chunk, (index + 1) * chunk - 1) for index in range(count)]
    spans[-1] = (spans[-1][0], size - 1)
    return spans


class TikTok(Adapter):
    name = "tiktok"
    metrics_batch = 20
    # The title of a Direct Post is its caption: 2,200 UTF-16 runes, hashtags included.
    title_limit = 2200
    caption_limit = 2200
    max_hashtags = 30
    rendition = RenditionSpec(max_duration=600.0, max_bytes=4 * 1024 * MB, max_width=1080, max_height=1920,
                              max_fps=60.0)

    def caption(self, copy: Copy) -> str:
        """The Direct Post title carries everything: the title, then the description and hashtags."""
        return self.fit(f"{copy.title} {copy.caption}".strip(), self.caption_limit)

    # --- errors: TikTok says what went wrong in `error.code`, whatever the status
    def check(self, response: httpx.Response, provider: str) -> httpx.Response:
        code = error_code(response)
        if code in ("access_token_invalid", "scope_not_authorized") or response.status_code == 401:
            credentials.on_unauthorized(self.channel, provider_message(response))
        if code in THROTTLED:
            # A per-minute window unless TikTok says when; the daily post cap waits an hour at a time.
            wait = THROTTLED[code] or (retry_after_seconds(response.headers)
                                       if "retry-after" in response.headers else 60.0)
            raise RateLimited(provider_message(response), retry_after=wait, provider=provider,
                              status_code=response.status_code)
        if response.status_code < 400 and code not in ("", "ok"):
            raise self.rejected(f"{code}: {provider_message(response)}", response.status_code)
        return raise_for_status(response, provider)

    def post_json(self, path: str, body: dict | None, **kwargs) -> dict:
        content = b"" if body is None else json.dumps(body).encode()
        response = self.call("POST", path, content=content,
                             headers={"Content-Type": "application/json; charset=UTF-8"}, **kwargs)
        return response.json().get("data", {})

    # --- publish
    def publish(self, request: PublishRequest) -> Posted:
        handles = request.handles
        total = request.video.stat().st_size
        if not total:
            raise self.rejected(f"the rendition at {request.video} is empty")
        offset = 0
        if handles.get("publish_id"):
            handles.uncertain = True
            state = self.fetch_status(handles["publish_id"])
            handles.note(f"status/fetch publish_id={handles['publish_id']}",
                         f"{state.get('status')} ({state.get('uploaded_bytes', 0)} of {total} bytes"
                         f"{', ' + state['fail_reason'] if state.get('fail_reason') else ''})")
            if state.get("status") != "PROCESSING_UPLOAD" or state.get("uploaded_bytes", 0) >= total:
                posted = self.posted(handles["publish_id"], state, handles)
                if posted.status == "failed" and state.get("uploaded_bytes", 0) < total:
                    handles.save(publish_id=None, upload_url=None)  # never complete, never a post
                else:
                    return posted
            else:
                offset = int(state.get("uploaded_bytes", 0))
        if not handles.get("publish_id"):
            self.init(request, total)
            offset = 0
        return self.upload(request, total, offset)

    def init(self, request: PublishRequest, total: int) -> None:
        creator = self.post_json("v2/post/publish/creator_info/query/", None)
        limit = creator.get("max_video_post_duration_sec")
        if limit and request.duration and request.duration > limit:
            raise self.rejected(f"the video is {request.duration:.0f} s; this creator may post at most {limit} s "
                                "(max_video_post_duration_sec)")
        options = creator.get("privacy_level_options") or []
        privacy = settings.TIKTOK_PRIVACY_LEVEL
        if privacy not in options:
            privacy = next((option for option in PRIVACY_FALLBACK if option in options), None)
        if privacy is None:
            raise self.rejected(f"the creator offers no privacy level Phantoms can post with: {options}")
        chunk, count = chunk_plan(total, settings.TIKTOK_CHUNK_BYTES)
        cover = self.cover_ms(request)
        data = self.post_json("v2/post/publish/video/init/", {
            "post_info": {"title": self.caption(request.copy), "privacy_level": privacy,
                          "disable_duet": bool(creator.get("duet_disabled")),
                          "disable_comment": bool(creator.get("comment_disabled")),
                          "disable_stitch": bool(creator.get("stitch_disabled")),
                          # The editor's cover frame; without one, a second in rather than a black first frame.
                          "video_cover_timestamp_ms": 1000 if cover is None else cover},
            "source_info": {"source": "FILE_UPLOAD", "video_size": total, "chunk_size": chunk,
                            "total_chunk_count": count},
        })
        if not data.get("publish_id") or not data.get("upload_url"):
            raise self.rejected("video/init answered without a publish_id and upload_url")
        # Their own commit, before the first byte: the publish_id is what we ask about later.
        request.handles.save(publish_id=data["publish_id"], upload_url=data["upload_url"], chunk_size=chunk,
                             chunk_count=count, total=total, username=creator.get("creator_username", ""))

    def upload(self, request: PublishRequest, total: int, offset: int) -> Posted:
        handles = request.handles
        spans = chunk_spans(total, handles.get("chunk_size"), handles.get("chunk_count"))
        with request.video.open("rb") as video:
            for first, last in spans:
                if last < offset:
                    continue
                video.seek(first)
                data = video.read(last - first + 1)
                final = last == total - 1
                handles.uncertain = handles.uncertain or final
                response = self.call("PUT", handles["upload_url"], irreversible=final, content=data, accept=(404,),
                                     authorized=False,
                                     headers={"Content-Type": "video/mp4", "Content-Length": str(len(data)),
                                              "Content-Range": f"bytes {first}-{last}/{total}"})
                if response.status_code == 404:
                    # The upload URL expired before the file was complete: no post can come of that init.
                    handles.note("PUT upload_url", "404: the upload URL expired; a new init is safe")
                    handles.save(publish_id=None, upload_url=None)
                    self.init(request, total)
                    return self.upload(request, total, 0)
        return Posted(id=handles["publish_id"], status="processing")

    # --- processing
    def fetch_status(self, publish_id: str) -> dict:
        return self.post_json("v2/post/publish/status/fetch/", {"publish_id": publish_id})

    def posted(self, publish_id: str, state: dict, handles) -> Posted:
        status = state.get("status", "")
        if status == DONE:
            public = state.get("publicaly_available_post_id") or []
            post_id = str(public[0]) if public else publish_id
            username = handles.get("username", "")
            url = f"https://www.tiktok.com/@{username}/video/{post_id}" if public and username else ""
            return Posted(id=post_id, status="published", url=url)
        if status == FAILED:
            return Posted(id=publish_id, status="failed", reason=state.get("fail_reason") or "failed")
        return Posted(id=publish_id, status="processing")

    def status(self, remote_id: str, handles) -> Posted:
        publish_id = handles.get("publish_id") or remote_id
        return self.posted(publish_id, self.fetch_status(publish_id), handles)

    # --- metrics
    def fetch_metrics(self, post_ids: list[str]) -> dict[str, MetricsReading]:
        data = self.post_json("v2/video/query/", {"filters": {"video_ids": post_ids}},
                              params={"fields": "id,view_count,like_count,comment_count,share_count"})
        readings = {post_id: MetricsReading({}, gone=True) for post_id in post_ids}
        for video in data.get("videos", []):
            readings[str(video["id"])] = MetricsReading({
                "views": video.get("view_count"), "likes": video.get("like_count"),
                "comments": video.get("comment_count"), "shares": video.get("share_count"), "saves": None,
                "watch_time_seconds": None, "impressions": None})
        return readings


def error_code(response: httpx.Response) -> str:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return ""
    return error.get("code", "") if isinstance(error, dict) else ""

