"""X: a video post through the X API v2.

Relies on these documented behaviours (X API v2, "Media upload" chunked quickstart and reference,
"Manage Posts", "Users lookup", "User Posts timeline", "Posts lookup", "Rate limits"):

- `POST /2/media/upload/initialize` (`media_type` video/mp4, `total_bytes`, `media_category`
  amplify_video) answers the media `id`, `media_key` and `expires_after_secs`; the file must be
  uploaded and used before it expires. Uploading media posts nothing.
- `POST /2/media/upload/{id}/append` sends one segment (multipart `media`, `segment_index` 0-999,
  at most 5 MB each); `POST /2/media/upload/{id}/finalize` closes the upload and may answer
  `processing_info` {state, check_after_secs}; `GET /2/media/upload?command=STATUS&media_id=…` is
  polled no sooner than `check_after_secs` until `succeeded` (or `failed` with `error.message`).
- `POST /2/tweets` with `text` and `media.media_ids` is the one call that creates the post; the post
  is live in its answer. X refuses a second post with the same text from the same user (403,
  duplicate content).
- `GET /2/users/me`, then `GET /2/users/{id}/tweets` with `expansions=attachments.media_keys` lists
  the user's recent posts with their media keys, newest first.
- `GET /2/tweets?ids=…&tweet.fields=public_metrics` reads up to 100 posts per call; a deleted post
  comes back in `errors` as a Not Found Error.

Exactly once: the media id is stored (its own commit) before a segment is sent, the count of
segments X acknowledged after each one (an interrupted upload resumes after the last acknowledged
segment), and the moment of the post call before it is sent. After a lost answer the user's recent
posts are searched for our media key: found, that is our post; absent from the posts made since a
minute before we sent (`start_time`), no post exists and the call is repeated; anything else (more
posts in that window than one page holds, or X refuses the repeat as duplicate content) goes to a
person at once (GiveUp, with the evidence noted).
Throttling (errors.py) is a deferral, never a failure.
"""

import time
from datetime import UTC, datetime

from django.conf import settings

from phantoms.engine.handler import GiveUp
from phantoms.resilience.errors import NotReady, PermanentError, RateLimited
from publishing.platforms import credentials
from publishing.platforms.base import METRIC_NAMES, Adapter, MetricsReading, Posted, RenditionSpec

from . import errors

SEGMENT_BYTES = 4 * 1024 * 1024  # under the documented 5 MB per APPEND
TIMELINE_PAGE = 100
TIMELINE_PAGES = 20  # at most 2,000 posts since the lost call are read before a person is asked


class DuplicateContent(PermanentError):
    """X refused a post because the same user already posted the same text."""


class X(Adapter):
    name = "x"
    metrics_batch = 100
    title_limit = 100
    caption_limit = 280
    max_hashtags = 3
    # amplify_video: MP4, H.264 High profile, AAC, up to 1920×1200 (1080×1920 portrait), 0.5 s to
    # 140 s for most accounts, at most 512 MB, up to 60 fps.
    rendition = RenditionSpec(max_duration=140.0, max_bytes=512 * 1024 * 1024, min_duration=0.5, max_fps=60.0)
    segment_bytes = SEGMENT_BYTES

    def shape_copy(self, copy):
        """One text of at most 280 characters: the title, then the first hashtags."""
        tags = " ".join(copy.hashtags)
        room = self.caption_limit - len(tags) - 1
        copy.description = self.fit(copy.title, max(room, 0))
        return copy

    # --- errors
    def throttled(self, response):
        return errors.throttle_wait(response)

    def check(self, response, provider):
        if response.status_code == 401:
            credentials.on_unauthorized(self.channel, errors.message_of(response))
        wait = self.throttled(response)
        if wait is not None:
            raise RateLimited(errors.message_of(response), retry_after=wait, provider=provider, status_code=429)
        if errors.is_duplicate(response):
            raise DuplicateContent(errors.message_of(response), provider=provider, status_code=403)
        if 400 <= response.status_code < 500:
            raise PermanentError(errors.message_of(response), provider=provider, status_code=response.status_code)
        return super().check(response, provider)

    # --- publishing
    def publish(self, request):
        handles = request.handles
        if handles.get("tweet_id"):
            return self._posted(handles.get("tweet_id"))
        if handles.get("tweet_sent_at"):
            found = self._find_post(handles)
            if found:
                return self._posted(found)
        media_id = self._upload(request)
        return self._post(request, media_id)

    def _upload(self, request) -> str:
        """The media id of the uploaded, processed rendition: resumed from the stored handles."""
        handles = request.handles
        size = request.video.stat().st_size
        expires = float(handles.get("media_expires_at") or 0)
        if not handles.get("media_id") or expires - time.time() < 60:
            body = self.call("POST", "2/media/upload/initialize", json={
                "media_type": "video/mp4", "total_bytes": size, "media_category": "amplify_video"}).json()["data"]
            handles.save(media_id=str(body["id"]), media_key=body.get("media_key", ""), total_bytes=size,
                         media_expires_at=time.time() + float(body.get("expires_after_secs") or 3600),
                         segments_sent=0, finalized_at=None, media_ready=None)
        media_id = handles.get("media_id")
        if not handles.get("finalized_at"):
            self._append_segments(request.video, media_id, handles)
            body = self.call("POST", f"2/media/upload/{media_id}/finalize").json()["data"]
            handles.save(finalized_at=time.time())
            self._processing(body, handles)
        elif not handles.get("media_ready"):
            body = self.call("GET", "2/media/upload", params={"command": "STATUS", "media_id": media_id}).json()
            self._processing(body.get("data", {}), handles)
        return media_id

    def _append_segments(self, video, media_id: str, handles) -> None:
        """Send the segments X has not acknowledged yet, recording each acknowledgement as it comes."""
        done = int(handles.get("segments_sent") or 0)
        with video.open("rb") as stream:
            stream.seek(done * self.segment_bytes)
            index = done
            while chunk := stream.read(self.segment_bytes):
                self.call("POST", f"2/media/upload/{media_id}/append", data={"segment_index": str(index)},
                          files={"media": ("blob", chunk, "application/octet-stream")})
                index += 1
                handles.save(segments_sent=index)

    def _processing(self, media: dict, handles) -> None:
        info = media.get("processing_info")
        state = (info or {}).get("state", "succeeded")
        if state == "succeeded":
            handles.save(media_ready=True)
            return
        if state == "failed":
            error = (info or {}).get("error") or {}
            reason = error.get("message") or error.get("name") or "failed"
            raise self.rejected(f"X could not process the video: {reason}")
        age = time.time() - float(handles.get("finalized_at") or time.time())
        if age > settings.PUBLISH_PROCESSING_DEADLINE:
            raise self.rejected(f"X was still processing media {handles.get('media_id')} after {int(age)} s "
                                f"(deadline {settings.PUBLISH_PROCESSING_DEADLINE} s)")
        raise NotReady(f"media {handles.get('media_id')} is {state}",
                       retry_after=float(info.get("check_after_secs") or settings.PUBLISH_POLL_INTERVAL),
                       provider=self.provider)

    def _post(self, request, media_id: str):
        handles = request.handles
        text = self.text(request.copy)
        # Stored before the call: a run that finds it knows the answer may have been lost.
        handles.save(tweet_sent_at=time.time())
        try:
            response = self.call("POST", "2/tweets", json={"text": text, "media": {"media_ids": [media_id]}},
                                 irreversible=True)
        except DuplicateContent as exc:
            # X says this user already posted this text: our post probably exists but is not listed.
            handles.note("POST 2/tweets", f"refused as duplicate content: {exc.message}")
            raise GiveUp(f"X refused the post as a duplicate of an earlier one, which its timeline does not show: "
                         f"{exc.message}")
        tweet_id = str(response.json()["data"]["id"])
        handles.save(tweet_id=tweet_id)
        return self._posted(tweet_id)

    def text(self, copy) -> str:
        return f"{copy.description} {' '.join(copy.hashtags)}".strip()[: self.caption_limit]

    def _posted(self, tweet_id: str) -> Posted:
        return Posted(tweet_id, "published", f"https://x.com/i/web/status/{tweet_id}")

    def _find_post(self, handles) -> str | None:
        """Our post among the user's recent posts, by our media key; None when it provably is not there."""
        user_id = handles.get("user_id")
        if not user_id:
            user_id = str(self.call("GET", "2/users/me").json()["data"]["id"])
            handles.save(user_id=user_id)
        sent = float(handles.get("tweet_sent_at") or 0)
        # Only the posts made since a minute before our call can be ours: read newest first, page by page,
        # until our media key turns up or the pages end.
        since = datetime.fromtimestamp(max(sent - 60, 0), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        params = {"max_results": str(TIMELINE_PAGE), "start_time": since, "expansions": "attachments.media_keys",
                  "tweet.fields": "attachments,created_at"}
        key, seen = handles.get("media_key"), 0
        # "Pagination" (docs.x.com): pages go on while `meta.next_token` is given, as `pagination_token`.
        for _ in range(TIMELINE_PAGES):
            body = self.call("GET", f"2/users/{user_id}/tweets", params=params).json()
            posts = body.get("data", [])
            seen += len(posts)
            for post in posts:
                if key and key in (post.get("attachments") or {}).get("media_keys", []):
                    handles.note(f"GET 2/users/{user_id}/tweets", f"post {post['id']} carries our media {key}")
                    handles.save(tweet_id=str(post["id"]))
                    return str(post["id"])
            next_token = (body.get("meta") or {}).get("next_token")
            if not next_token:
                handles.note(f"GET 2/users/{user_id}/tweets", f"none of the {seen} posts since {since} carries "
                                                             f"media {key}: no post was made")
                handles.save(tweet_sent_at=None)
                return None
            params = {**params, "pagination_token": next_token}
        handles.note(f"GET 2/users/{user_id}/tweets", f"{seen} posts since {since}, none with media {key}, "
                                                     "and there are more; cannot tell whether ours was made")
        raise GiveUp(f"cannot tell whether the lost post was made: more than {seen} posts since {since}")

    def status(self, remote_id, handles):
        # A post is live in the answer to its creation.
        return self._posted(remote_id)

    # --- metrics
    def fetch_metrics(self, post_ids):
        body = self.call("GET", "2/tweets", params={"ids": ",".join(post_ids), "tweet.fields": "public_metrics"}).json()
        readings = {}
        for post in body.get("data", []):
            metrics = post.get("public_metrics")
            values: dict[str, int | None] = {name: None for name in METRIC_NAMES}
            if isinstance(metrics, dict):
                values.update(
                    views=metrics.get("impression_count"), impressions=metrics.get("impression_count"),
                    likes=metrics.get("like_count"), comments=metrics.get("reply_count"),
                    saves=metrics.get("bookmark_count"),
                    shares=_sum(metrics.get("retweet_count"), metrics.get("quote_count")))
            readings[str(post["id"])] = MetricsReading(values)
        for error in body.get("errors", []):
            if "not-found" in str(error.get("type", "")) or error.get("title") == "Not Found Error":
                readings[str(error.get("resource_id") or error.get("value"))] = MetricsReading(
                    {name: None for name in METRIC_NAMES}, gone=True)
        return readings


def _sum(*numbers):
    known = [n for n in numbers if isinstance(n, int)]
    return sum(known) if known else None

