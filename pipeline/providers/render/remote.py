"""A render service in the shape of Shotstack's Edit API: submit a timeline, get an id, poll (or be called back).

Relies on the Shotstack API reference (Edit API):
- "Render Asset" (`POST /render`): the body is an Edit with `timeline`, `output` and optional
  `merge`, `callback` (and deprecated `disk`), and nothing else: the schema allows no other
  properties, so the length is never sent; the service works it out from the clips. Authentication is
  the `x-api-key` header. The answer's `response.id` names the render.
- "Get Render Status" (`GET /render/{id}`): `response.status` is one of `queued`, `fetching`,
  `preprocessing`, `rendering`, `saving`, `done`, `failed`; `url` (and `poster` when
  `output.poster.capture` was asked for) once done, `error` when failed.
- Timeline: `tracks` of `clips` (`asset`, `start`, `length`, `fit`, `position`, `offset`,
  `transition`, `effect`), the first track on top; assets `video`, `image`, `text`, `audio` with a `src`
  the service must be able to fetch; `soundtrack` for music.
- Webhooks: the service POSTs `{"type": "edit", "action": "render", "id", "owner", "status", "url",
  "error", "completed"}` to `callback` when a render is done or failed. It does not sign callbacks,
  so the callback URL carries an unguessable token of its own per render (pipeline.webhooks).

Media go to the service as signed, expiring links under PHANTOMS_PUBLIC_URL, served by Phantoms
(pipeline.services.signed_media). A loopback public URL is refused unless the render service is the
sandbox on this machine: a real service could never fetch from it.

No worker waits for a render (docs/architecture.md, "Stage isolation"). Each run of the render stage does one
step:
- nothing submitted yet (or the inputs changed, or the last render failed): commit the intent
  ("submitting" with the submission's own callback token digest), submit, record the id the service
  answers (guarded by that digest, not by the lease), and raise NotReady so the runner looks again
  just before the render's ETA;
- "submitting" with no id (the answer was lost: a timeout after sending, a worker killed or a lease
  lost mid-call): wait up to RENDER_SUBMIT_GRACE for the service's callback, which carries the
  submission's token and so records the render's id (pipeline.services.renders); only then submit
  again;
- a render in flight: ask its status once; queued/fetching/preprocessing/rendering/saving raise
  NotReady with a delay planned on the render's ETA and age (`next_poll_delay`), failed is
  permanent with the service's own message, and past the deadline is permanent;
- done: stream the output (and its poster, the cover) to disk, checksum and probe it.

The render's state lives in PostgreSQL: `Asset.render_remote_id` and `render_spec["remote"]`
(id, fingerprint of the inputs, submission time, polls, status), so a flushed Redis, a crashed
worker or a lost lease never causes a second submission for the same inputs. The callback only makes
the next poll happen at once (and names a render whose submission went unanswered).

The Shotstack Edit API has no endpoint to list renders or to cancel one: a render whose submission
went unanswered for longer than the grace, and was then submitted again, cannot be found or
cancelled at the service. It costs a render, never a duplicate post.
"""

import hashlib
import ipaddress
import json
import secrets
import shutil
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from redis.exceptions import RedisError

from phantoms.redis import get_redis
from phantoms.resilience.errors import ConfigurationError, NotReady, PermanentError, TransientError
from phantoms.resilience.http import make_client, pooled_client, raise_for_status, send
from pipeline.media.captions import group_words
from pipeline.media.ffmpeg import probe
from pipeline.media.render import AUTO_TRANSITIONS
from pipeline.media.voice import audio_duration
from pipeline.models import Asset
from pipeline.providers.base import Renderer
from pipeline.services.renders import (
    SUBMITTED_PROGRESS,
    SUBMITTING,
    USED_PREFIX,
    callback_digest,
    record_remote_render,
)
from pipeline.services.signed_media import signed_url

PROVIDER = "render"
IN_FLIGHT = ("queued", "fetching", "preprocessing", "rendering", "saving")
# States after which the same inputs are submitted again rather than polled.
RESUBMIT = ("failed", "expired", "lost", "unanswered")
# Rough progress for the admin while the service works; it reports no percentage.
PROGRESS = {"submitted": SUBMITTED_PROGRESS, "queued": 0.05, "fetching": 0.15, "preprocessing": 0.3, "rendering": 0.5,
            "saving": 0.9}
CHUNK = 1 << 16
__all__ = ["USED_PREFIX", "RemoteRenderer", "callback_digest"]
# Our xfade names as the nearest Shotstack clip transitions.
SHOTSTACK_TRANSITIONS = {"fade": "fade", "smoothleft": "slideLeft", "smoothup": "slideUp", "circleopen": "zoom",
                         "fadeblack": "fade", "wipeleft": "wipeLeft", "slideup": "slideUp", "dissolve": "fade",
                         "radial": "reveal", "zoomin": "zoom"}
IMAGE_EFFECTS = ("zoomInSlow", "slideLeftSlow", "zoomOutSlow", "slideRightSlow")


def download_client() -> httpx.Client:
    """The process's keep-alive client for outputs and posters (no API key): a client per download
    built a TLS context each time, which cost more than the download itself."""
    return pooled_client("", read_timeout=settings.RENDER_DOWNLOAD_TIMEOUT)


def public_url() -> str:
    return (getattr(settings, "PHANTOMS_PUBLIC_URL", "") or settings.SANDBOX_URL).rstrip("/")


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").strip("[]").lower()
    if host in ("localhost", "localhost.") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def render_service_is_sandbox() -> bool:
    sandbox = settings.SANDBOX_URL.rstrip("/") + "/sandbox/"
    return bool(settings.PHANTOMS_SANDBOX) and settings.RENDER_SERVICE_URL.startswith(sandbox)


def check_public_url() -> str:
    """PHANTOMS_PUBLIC_URL, refused when the render service could not reach it."""
    base = public_url()
    if is_loopback(base) and not render_service_is_sandbox():
        raise ConfigurationError(
            f"PHANTOMS_PUBLIC_URL: {base} is a loopback address, which the render service at "
            f"{settings.RENDER_SERVICE_URL} cannot reach; set it to an address the service can fetch from",
            provider=PROVIDER)
    return base


def callback_url(token: str) -> str:
    return public_url() + reverse("render-webhook", args=[token])


# How long the service takes per second of output, learned from the renders it finished
# (`updated - created` of a done render over its `duration`); shared by the workers through Redis.
SPEED_KEY = "phantoms:render:seconds_per_output_second"
_speed_cache: dict[str, tuple[float, float]] = {}
SPEED_CACHE_SECONDS = 10.0


def service_speed() -> float:
    """Seconds the service needs per second of video: learned, or RENDER_EXPECTED_SPEED until it is."""
    now = time.monotonic()
    cached = _speed_cache.get(settings.REDIS_URL)
    if cached and now - cached[1] < SPEED_CACHE_SECONDS:
        return cached[0]
    speed = float(settings.RENDER_EXPECTED_SPEED)
    try:
        raw = get_redis().get(SPEED_KEY)
        if raw:
            speed = float(raw)
    except (RedisError, ValueError):
        pass  # a guess is enough to plan a poll; the polls themselves are the truth
    _speed_cache[settings.REDIS_URL] = (speed, now)
    return speed


def forget_speed() -> None:
    _speed_cache.clear()


def learn_speed(body: dict) -> None:
    """Fold a finished render's own timing into the shared estimate (moving average)."""
    try:
        created = datetime.fromisoformat(str(body["created"]).replace("Z", "+00:00"))
        updated = datetime.fromisoformat(str(body["updated"]).replace("Z", "+00:00"))
        duration = float(body["duration"])
    except (KeyError, TypeError, ValueError):
        return
    took = (updated - created).total_seconds()
    if duration <= 0 or took <= 0:
        return
    sample = took / duration
    previous = service_speed()
    speed = sample if previous == float(settings.RENDER_EXPECTED_SPEED) else 0.7 * previous + 0.3 * sample
    try:
        get_redis().set(SPEED_KEY, repr(speed))
    except RedisError:
        return
    _speed_cache[settings.REDIS_URL] = (speed, time.monotonic())


def first_poll_delay(duration: float) -> float:
    """The first look at a render just submitted: just before it is expected to be done."""
    return next_poll_delay(0.0, duration, "submitted")


def next_poll_delay(age: float, duration: float, status: str) -> float:
    """Seconds until the next look at a render `age` seconds after its submission.

    Shotstack reports a render's status but no percentage or ETA, so the ETA is the output's length
    times the service's learned speed. Polls are kept proportional to the render's age: at most
    RENDER_POLL_LATENESS of the time it has taken so far passes between a finish and the poll that
    sees it; a render expected to take longer is left alone until just before its ETA instead of
    being polled on a blind doubling interval. "saving" is the last step before "done": it is polled
    at the shortest interval.
    """
    floor, cap = settings.RENDER_POLL_INTERVAL, settings.RENDER_POLL_MAX_INTERVAL
    lateness = settings.RENDER_POLL_LATENESS
    if status == "saving":
        return floor
    step = min(cap, max(floor, age * lateness))
    eta = max(0.0, duration) * service_speed()
    ahead = eta * (1 - lateness / 2) - age
    return min(cap, max(step, ahead))


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(spec, audio_path: Path) -> str:
    """Identifies the inputs of a render: a stored id is reused only for the same inputs."""
    data = spec.to_dict()
    data["audio_sha256"] = _file_sha256(audio_path) if audio_path.is_file() else ""
    data["visuals_sha256"] = [_file_sha256(Path(v["path"])) if Path(str(v.get("path", ""))).is_file() else ""
                              for v in spec.visuals]
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _text_asset(text: str, size: int, colour: str = "#ffffff") -> dict:
    return {"type": "text", "text": text,
            "font": {"family": "Montserrat ExtraBold", "size": size, "color": colour},
            "alignment": {"horizontal": "center", "vertical": "center"}}


def _visual_clips(spec, duration: float, urls: list[str]) -> list[dict]:
    """One clip per beat on its span; each after the first comes in with a transition."""
    clips = []
    names = AUTO_TRANSITIONS if (spec.transition or "auto") == "auto" else [spec.transition]
    visuals = sorted(spec.visuals, key=lambda v: float(v.get("start", 0)))
    for index, (visual, url) in enumerate(zip(visuals, urls, strict=True)):
        start = 0.0 if index == 0 else float(visual["start"])
        end = duration if index == len(visuals) - 1 else float(visuals[index + 1]["start"])
        if end - start <= 0:
            continue
        if visual.get("kind") == "image":
            clip = {"asset": {"type": "image", "src": url}, "effect": IMAGE_EFFECTS[index % len(IMAGE_EFFECTS)]}
        else:
            clip = {"asset": {"type": "video", "src": url, "volume": 0}}
        clip.update(start=round(start, 3), length=round(end - start, 3), fit="cover")
        transition = SHOTSTACK_TRANSITIONS.get(names[(index - 1) % len(names)]) if index else None
        if transition and spec.transition not in ("cut", "none"):
            clip["transition"] = {"in": transition}
        clips.append(clip)
    return clips


def build_payload(spec, *, audio_url: str, duration: float, callback: str, visual_urls: list[str] = (),
                  music_url: str | None = None) -> dict:
    """The Shotstack-shaped edit: title card, headlines, timed captions, a visual per beat, the voice.

    Only properties of the Edit schema: the service works the length out from the clips.
    """
    background = spec.background or {}
    colours = background.get("colors") or [background.get("color") or "#000000"]
    tracks = []
    title = spec.resolved_title()
    title_end = min(spec.title_seconds, duration) if spec.title_card and title else 0.0
    if title_end:
        tracks.append({"clips": [{"asset": _text_asset(title, 72), "start": 0,
                                  "length": round(title_end, 3), "position": "center"}]})
    headlines = []
    for headline in spec.headlines if spec.captions else []:
        start, end = max(float(headline["start"]), title_end), min(float(headline["end"]), duration)
        text = " ".join(str(headline.get("text") or "").split())
        if text and end - start >= 0.3:
            headlines.append({"asset": _text_asset(text, 48), "start": round(start, 3),
                              "length": round(end - start, 3), "position": "top", "offset": {"y": -0.18}})
    if headlines:
        tracks.append({"clips": headlines})
    if spec.captions:
        clips = []
        for group in group_words(spec.timings, spec.caption_lines(), spec.max_words_per_line):
            start, end = float(group[0]["start"]), min(float(group[-1]["end"]), duration)
            if end > start:
                clips.append({"asset": _text_asset(" ".join(str(w["word"]) for w in group), 56),
                              "start": round(start, 3), "length": round(end - start, 3),
                              "position": "bottom", "offset": {"y": 0.18}})
        if clips:
            tracks.append({"clips": clips})
    if spec.visuals:
        tracks.append({"clips": _visual_clips(spec, duration, list(visual_urls))})
    tracks.append({"clips": [{"asset": {"type": "audio", "src": audio_url, "volume": 1},
                              "start": 0, "length": round(duration, 3)}]})
    timeline = {"background": "#000000" if spec.visuals else colours[0], "tracks": tracks}
    if music_url:
        timeline["soundtrack"] = {"src": music_url, "effect": "fadeOut", "volume": round(spec.music_volume, 3)}
    output = {"format": "mp4", "fps": spec.fps, "size": {"width": spec.width, "height": spec.height}}
    if spec.cover_at is not None:
        output["poster"] = {"capture": round(min(float(spec.cover_at), duration), 3)}
    return {"timeline": timeline, "output": output, "callback": callback}


class RemoteRenderer(Renderer):
    name = "remote"
    breaker = "render"
    needs_context = True
    # Set when the service delivered a poster with the render: the stage keeps it as the cover.
    poster_path: Path | None = None

    # --- state kept on the asset
    def _load(self, asset) -> tuple[str, dict, dict]:
        row = Asset.objects.filter(pk=asset.pk).values("render_remote_id", "render_spec").first() or {}
        stored = row.get("render_spec") or {}
        return row.get("render_remote_id") or "", stored, dict(stored.get("remote") or {})

    def _save(self, asset, ctx, stored: dict, remote: dict, **fields) -> None:
        """Record the render's state, but only while this run still holds the asset's lease."""
        spec = {**stored, "remote": remote}
        if not Asset.objects.filter(pk=asset.pk, lease_owner=ctx.token).update(render_spec=spec, **fields):
            raise TransientError(f"lost the lease on asset {asset.pk} while recording render "
                                 f"{remote.get('id') or '(none)'}", provider=PROVIDER)

    # --- HTTP
    def _client(self) -> httpx.Client:
        key = settings.RENDER_SERVICE_KEY
        return make_client(settings.RENDER_SERVICE_URL.rstrip("/") + "/", headers={"x-api-key": key})

    @staticmethod
    def _body(response: httpx.Response) -> dict:
        try:
            body = response.json()
        except ValueError:
            raise TransientError(f"the render service answered HTTP {response.status_code} with no JSON",
                                 provider=PROVIDER, status_code=response.status_code)
        inner = body.get("response") if isinstance(body, dict) else None
        if not isinstance(inner, dict):
            raise TransientError(f"unexpected answer from the render service: {str(body)[:300]}",
                                 provider=PROVIDER, status_code=response.status_code)
        return inner

    # --- the stage's one step
    def render(self, asset, spec, out_path: Path, progress=None, ctx=None):
        if ctx is None:
            raise ConfigurationError("the remote renderer needs the stage context to record its render",
                                     provider=PROVIDER)
        inputs = fingerprint(spec, Path(spec.audio_path))
        remote_id, stored, remote = self._load(asset)
        if remote_id and remote.get("id") != remote_id:
            # An id without its bookkeeping (set by hand, or by an older version): poll it, never resubmit.
            remote = {"id": remote_id, "fingerprint": inputs, "submitted_at": timezone.now().isoformat(),
                      "polls": 0, "status": "adopted"}
        if not remote_id and remote.get("status") == SUBMITTING and remote.get("fingerprint") == inputs:
            self._await_unanswered(remote)  # raises NotReady while the grace lasts
            remote = {**remote, "status": "unanswered",
                      "error": f"no id from the service within {settings.RENDER_SUBMIT_GRACE:g} s"}
        resubmit = not remote_id or remote.get("fingerprint") != inputs or remote.get("status") in RESUBMIT
        with self._client() as client:
            if resubmit:
                self._submit(client, asset, spec, ctx, stored, remote, inputs)  # raises NotReady
            return self._poll(client, asset, ctx, stored, remote, out_path, progress)

    def _submit(self, client, asset, spec, ctx, stored, previous, inputs):
        base = check_public_url()
        duration = float(spec.duration or asset.audio_duration or audio_duration(spec.audio_path))
        try:
            audio_url = signed_url(spec.audio_path, base=base)
            visual_urls = [signed_url(visual["path"], base=base) for visual in spec.visuals]
            music_url = signed_url(spec.music_path, base=base) if spec.music_path else None
        except ValueError as exc:
            raise PermanentError(f"cannot link a render input: {exc}", provider=PROVIDER)
        # Intent first, in its own commit, before the service hears of it: a fresh callback token
        # (stored as its digest) and "submitting". Whatever happens to this run (a lost lease, a
        # killed worker, an answer lost on the wire), the next run knows a render may exist.
        token = secrets.token_urlsafe(32)
        digest = callback_digest(token)
        intent = {"status": SUBMITTING, "fingerprint": inputs, "submitting_at": timezone.now().isoformat(),
                  "polls": 0, "duration": round(duration, 3)}
        if previous.get("id") or previous.get("status") in RESUBMIT:
            intent["replaced"] = {key: previous.get(key) for key in ("id", "status", "error")}
        self._save(asset, ctx, stored, intent, render_callback_digest=digest, render_remote_id="")
        payload = build_payload(spec, audio_url=audio_url, duration=duration, callback=callback_url(token),
                                visual_urls=visual_urls, music_url=music_url)
        # Irreversible: a timeout after sending is an unknown outcome, never a blind resubmission.
        response = send(client, "POST", "render", provider=PROVIDER, json=payload, irreversible=True)
        render_id = str(self._body(response).get("id") or "")
        if not render_id:
            raise TransientError("the render service accepted the job but returned no id", provider=PROVIDER)
        # Guarded by the submission's digest, not by the lease: a run that lost its lease meanwhile
        # still records the render it started, and the run that holds the lease now polls it.
        if not record_remote_render(asset.pk, digest, render_id, via="submit"):
            raise TransientError(f"render {render_id} was submitted but asset {asset.pk} has moved on to "
                                 "another submission; it is left to finish unused", provider=PROVIDER)
        raise NotReady(f"render {render_id} submitted", retry_after=first_poll_delay(duration),
                       provider=PROVIDER)

    @staticmethod
    def _await_unanswered(remote: dict) -> None:
        """A submission whose answer never came back: wait for the service's callback before submitting again.

        The callback names the render and carries the submission's token, so it records the id
        (pipeline.webhooks) and queues the stage at once. Only when the grace passes without it is
        the submission taken as never received.
        """
        started = datetime.fromisoformat(remote.get("submitting_at") or timezone.now().isoformat())
        waited = (timezone.now() - started).total_seconds()
        left = settings.RENDER_SUBMIT_GRACE - waited
        if left > 0:
            raise NotReady(f"submission of {int(waited)} s ago unanswered; waiting up to {int(left) + 1} s more "
                           "for the render service's callback before submitting again",
                           retry_after=left, provider=PROVIDER)

    def _poll(self, client, asset, ctx, stored, remote, out_path, progress):
        render_id = remote["id"]
        try:
            response = send(client, "GET", f"render/{render_id}", provider=PROVIDER)
        except PermanentError as exc:
            if exc.status_code == 404:
                # The service no longer knows the render: a requeue will submit it again.
                self._save(asset, ctx, stored, {**remote, "status": "lost", "error": exc.message})
            raise
        body = self._body(response)
        status = str(body.get("status") or "").lower()
        polls = int(remote.get("polls", 0)) + 1
        if status == "done":
            seen = timezone.now().isoformat()  # when polling learned it (how late, against the service's own time)
            url = body.get("url")
            if not url:
                raise TransientError(f"render {render_id} is done but has no output url", provider=PROVIDER)
            base = settings.RENDER_SERVICE_URL.rstrip("/") + "/"
            info, digest, size = self._download(urljoin(base, url), out_path, asset, ctx, stored, remote)
            learn_speed(body)
            poster = body.get("poster")
            if poster:
                self.poster_path = self._fetch_poster(urljoin(base, poster), out_path)
            self._save(asset, ctx, stored, {**remote, "polls": polls, "status": "done", "url": url,
                                            "poster": poster or "", "sha256": digest, "bytes": size,
                                            "seen_done_at": seen})
            return info
        if status == "failed":
            error = str(body.get("error") or "no reason given")
            self._save(asset, ctx, stored, {**remote, "polls": polls, "status": "failed", "error": error})
            raise PermanentError(f"render {render_id} failed: {error}", provider=PROVIDER)
        submitted = datetime.fromisoformat(remote["submitted_at"])
        age = (timezone.now() - submitted).total_seconds()
        if age > settings.RENDER_REMOTE_DEADLINE:
            self._save(asset, ctx, stored, {**remote, "polls": polls, "status": "expired",
                                            "error": f"still {status or 'unknown'} after {int(age)} s"})
            raise PermanentError(f"render {render_id} still {status or 'unknown'} after {int(age)} s "
                                 f"(deadline {settings.RENDER_REMOTE_DEADLINE} s)", provider=PROVIDER)
        if status not in IN_FLIGHT:
            raise TransientError(f"render {render_id} has an unknown status {status!r}", provider=PROVIDER)
        self._save(asset, ctx, stored, {**remote, "polls": polls, "status": status})
        if progress:
            progress(PROGRESS.get(status, 0.05))
        duration = float(remote.get("duration") or body.get("duration") or asset.audio_duration or 0)
        delay = next_poll_delay(age, duration, status)
        deadline_left = settings.RENDER_REMOTE_DEADLINE - age
        raise NotReady(f"render {render_id} is {status} (poll {polls})",
                       retry_after=max(0.0, min(delay, deadline_left + 1)), provider=PROVIDER)

    def cover(self, video: Path, at: float, out_path: Path) -> Path:
        """The service's poster (made at the same moment) when it sent one, else the frame from the video."""
        if self.poster_path and Path(self.poster_path).is_file():
            shutil.move(self.poster_path, out_path)
            return out_path
        return super().cover(video, at, out_path)

    def _fetch_poster(self, url: str, out_path: Path) -> Path | None:
        """The service's poster image, used as the cover; a missing one is not worth failing a render."""
        target = out_path.with_name(out_path.stem + ".poster.jpg")
        try:
            response = download_client().get(url, follow_redirects=True)
        except httpx.HTTPError:
            return None
        if response.status_code >= 400 or not response.content:
            return None
        target.write_bytes(response.content)
        return target

    def _download(self, url: str, out_path: Path, asset, ctx, stored, remote):
        """Stream the output to `out_path`; return its MediaInfo, sha256 and size."""
        digest, size = hashlib.sha256(), 0
        out_path.parent.mkdir(parents=True, exist_ok=True)
        # A client without our API key: output links usually point at a CDN, not the API.
        try:
            with download_client().stream("GET", url, follow_redirects=True) as response:
                if response.status_code >= 400:
                    response.read()
                    try:
                        raise_for_status(response, PROVIDER)
                    except PermanentError as exc:
                        # An expired or missing output link: render again rather than give up.
                        self._save(asset, ctx, stored, {**remote, "status": "lost", "error": exc.message})
                        raise TransientError(f"output of render {remote['id']} unavailable: {exc}",
                                             provider=PROVIDER, status_code=exc.status_code)
                expected = response.headers.get("content-length")
                with open(out_path, "wb") as handle:
                    for block in response.iter_bytes(CHUNK):
                        handle.write(block)
                        digest.update(block)
                        size += len(block)
        except httpx.TimeoutException as exc:
            out_path.unlink(missing_ok=True)
            raise TransientError(f"downloading render {remote['id']} timed out: {exc!r}", provider=PROVIDER)
        except httpx.TransportError as exc:
            out_path.unlink(missing_ok=True)
            raise TransientError(f"downloading render {remote['id']} failed: {exc!r}", provider=PROVIDER)
        if expected and expected.isdigit() and int(expected) != size:
            out_path.unlink(missing_ok=True)
            raise TransientError(f"downloaded {size} of {expected} bytes of render {remote['id']}",
                                 provider=PROVIDER)
        if size == 0:
            out_path.unlink(missing_ok=True)
            raise TransientError(f"render {remote['id']} output is empty", provider=PROVIDER)
        info = probe(out_path)
        if not info.video_codec or info.duration <= 0:
            raise PermanentError(f"render {remote['id']} output has no playable video", provider=PROVIDER)
        return info, digest.hexdigest(), size

