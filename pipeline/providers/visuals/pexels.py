"""Stock video per beat from Pexels (or any server that speaks its API), downloaded and credited.

Relies on the Pexels API documentation:
- "Search for Videos": `GET https://api.pexels.com/videos/search` with `query`, `orientation`
  (`portrait` here), `size` (`medium` = Full HD and up), `page`, `per_page` (at most 80); the key goes
  in the `Authorization` header as is. The answer lists `videos`, each with `id`, `width`, `height`,
  `duration` (seconds), `url` (its page on Pexels), `user` (`name`, `url`) and `video_files`
  (`id`, `quality`, `file_type`, `width`, `height`, `fps`, `link`).
- "Guidelines": credit the creator with a link ("Video by <name> on Pexels") and link to Pexels. The
  attribution is stored with each visual (`attribution`), for the description and the credits.
- Rate limits: 200 requests per hour by default; a 429 carries `X-Ratelimit-Reset` (epoch seconds),
  which the runner honours as a deferral. Each search takes a token from the shared `pexels` bucket.

Per beat: search the beat's query (its `visual_query`, else its on-screen text), take the first
video not used by an earlier beat that runs at least as long as the beat (else the longest), and
of its MP4 files the smallest portrait one at least PEXELS_MIN_HEIGHT tall. No result, even for a
shorter query, puts a generated motion background behind that beat instead, and says why.
"""

import re
from pathlib import Path

import httpx
from django.conf import settings

from phantoms.resilience import ratelimit
from phantoms.resilience.errors import PermanentError, RateLimited, TransientError
from phantoms.resilience.http import make_client, raise_for_status, send
from pipeline.media.ffmpeg import probe
from pipeline.providers.base import BeatRequest, VisualsProvider, VisualsResult

from .common import clip_seconds, remember, reuse
from .offline import MotionVisuals

PROVIDER = "pexels"
PER_PAGE = 15
CHUNK = 1 << 16
_STOPWORDS = frozenset("a an and are as at be by for from how in is it of on or that the this to with "
                       "why what your you".split())


def shorter_query(query: str) -> str:
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]+", query) if w.lower() not in _STOPWORDS]
    return " ".join(words[:2])


def choose_file(video: dict, min_height: int) -> dict | None:
    files = [f for f in video.get("video_files") or []
             if str(f.get("file_type", "")).startswith("video/mp4") and f.get("link")
             and int(f.get("width") or 0) > 0 and int(f.get("height") or 0) >= int(f.get("width") or 0)]
    if not files:
        return None
    tall_enough = [f for f in files if int(f["height"]) >= min_height]
    if tall_enough:
        return min(tall_enough, key=lambda f: (int(f["height"]), int(f["width"])))
    return max(files, key=lambda f: (int(f["height"]), int(f["width"])))


def choose_video(videos: list[dict], seconds: float, used: set, min_height: int) -> tuple[dict, dict] | None:
    """The first unused video long enough for the beat, else the longest unused one."""
    candidates = []
    for video in videos:
        if video.get("id") in used:
            continue
        chosen = choose_file(video, min_height)
        if chosen is not None:
            candidates.append((video, chosen))
    for video, chosen in candidates:
        if float(video.get("duration") or 0) >= seconds:
            return video, chosen
    if candidates:
        return max(candidates, key=lambda pair: float(pair[0].get("duration") or 0))
    return None


def attribution(video: dict) -> dict:
    user = video.get("user") or {}
    name = str(user.get("name") or "a Pexels creator")
    return {"provider": "Pexels", "author": name, "author_url": user.get("url") or "",
            "source_url": video.get("url") or "", "text": f"Video by {name} on Pexels",
            "provider_url": "https://www.pexels.com"}


class PexelsVisuals(VisualsProvider):
    name = "pexels"
    breaker = "pexels"
    rate_limit = "pexels"

    def _client(self) -> httpx.Client:
        if not settings.PEXELS_API_KEY:
            raise PermanentError("PEXELS_API_KEY is empty", provider=PROVIDER)
        return make_client(settings.PEXELS_BASE_URL + "/", headers={"Authorization": settings.PEXELS_API_KEY},
                           read_timeout=settings.PEXELS_TIMEOUT)

    def fetch(self, asset, beats: list[BeatRequest], out_dir: Path, *, theme: str) -> VisualsResult:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        used: set = set()
        visuals = []
        searches = 0
        with self._client() as client:
            for beat in beats:
                key = {"provider": self.name, "query": beat.query, "seconds": clip_seconds(beat),
                       "min_height": settings.PEXELS_MIN_HEIGHT, "after": sorted(used, key=str)}
                cached = reuse(out_dir, beat, key)
                if cached:
                    used.add((cached.get("source") or {}).get("id"))
                    visuals.append(cached)
                    continue
                visual, searches = self._beat(client, asset, beat, out_dir, used, searches, theme)
                visuals.append(remember(out_dir, beat, key, visual))
        return VisualsResult(visuals=visuals)

    def _take_token(self, searches: int) -> None:
        # The runner took this stage run's first token; every further search takes its own.
        if searches == 0:
            return
        wait = ratelimit.acquire(PROVIDER)
        if wait > 0:
            raise RateLimited(f"local rate limit for pexels after {searches} searches", retry_after=wait,
                              provider=PROVIDER)

    def search(self, client: httpx.Client, query: str) -> list[dict]:
        response = send(client, "GET", "videos/search", provider=PROVIDER,
                        params={"query": query, "orientation": "portrait", "size": "medium",
                                "page": 1, "per_page": PER_PAGE})
        try:
            body = response.json()
        except ValueError:
            raise TransientError("Pexels answered a search with no JSON", provider=PROVIDER,
                                 status_code=response.status_code)
        videos = body.get("videos") if isinstance(body, dict) else None
        if not isinstance(videos, list):
            raise TransientError(f"unexpected Pexels search answer: {str(body)[:200]}", provider=PROVIDER)
        return [video for video in videos if isinstance(video, dict)]

    def _beat(self, client, asset, beat: BeatRequest, out_dir: Path, used: set, searches: int, theme: str):
        seconds = clip_seconds(beat)
        tried = []
        for query in dict.fromkeys(q for q in (beat.query, shorter_query(beat.query)) if q):
            self._take_token(searches)
            searches += 1
            tried.append(query)
            picked = choose_video(self.search(client, query), seconds, used, settings.PEXELS_MIN_HEIGHT)
            if picked is None:
                continue
            video, chosen = picked
            path = out_dir / f"beat-{beat.index}.mp4"
            self.download(chosen["link"], path)
            used.add(video.get("id"))
            return {"beat": beat.index, "kind": "video", "path": str(path), "start": beat.start, "end": beat.end,
                    "query": query, "provider": self.name, "attribution": attribution(video),
                    "source": {"id": video.get("id"), "file_id": chosen.get("id"), "width": chosen.get("width"),
                               "height": chosen.get("height"), "duration": video.get("duration"),
                               "quality": chosen.get("quality")}}, searches
        reason = f"no Pexels video for {' / '.join(repr(q) for q in tried) or 'an empty query'}"
        return MotionVisuals().make(asset, beat, out_dir, theme=theme, reason=reason), searches

    def download(self, url: str, path: Path) -> None:
        """Stream a video file to `path`; a broken or partial download is transient (searched again)."""
        partial = path.with_name(path.stem + ".part" + path.suffix)
        timeout = httpx.Timeout(settings.PEXELS_DOWNLOAD_TIMEOUT, connect=settings.HTTP_TIMEOUTS["connect"])
        size = 0
        try:
            # File links point at a CDN: no API key goes with them.
            with httpx.Client(timeout=timeout, follow_redirects=True) as client, \
                    client.stream("GET", url) as response:
                if response.status_code >= 400:
                    response.read()
                    try:
                        raise_for_status(response, PROVIDER)
                    except PermanentError as exc:
                        raise TransientError(f"video file unavailable: {exc.message}", provider=PROVIDER,
                                             status_code=exc.status_code)
                expected = response.headers.get("content-length")
                with open(partial, "wb") as handle:
                    for block in response.iter_bytes(CHUNK):
                        handle.write(block)
                        size += len(block)
        except httpx.TimeoutException as exc:
            partial.unlink(missing_ok=True)
            raise TransientError(f"downloading {url} timed out: {exc!r}", provider=PROVIDER)
        except httpx.TransportError as exc:
            partial.unlink(missing_ok=True)
            raise TransientError(f"downloading {url} failed: {exc!r}", provider=PROVIDER)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        if size == 0 or (expected and expected.isdigit() and int(expected) != size):
            partial.unlink(missing_ok=True)
            raise TransientError(f"downloaded {size} of {expected or 'unknown'} bytes from {url}", provider=PROVIDER)
        try:
            info = probe(partial)
        except PermanentError as exc:
            partial.unlink(missing_ok=True)
            raise TransientError(f"the file from {url} is not a video: {exc.message}", provider=PROVIDER)
        if not info.video_codec:
            partial.unlink(missing_ok=True)
            raise TransientError(f"the file from {url} has no video stream", provider=PROVIDER)
        partial.replace(path)
