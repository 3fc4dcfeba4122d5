"""What every platform package implements (docs/platforms.md, "Writing a platform package").

An `Adapter` owns one platform's whole protocol: its upload or container steps, the irreversible
call that creates the public post, the status query, the question it asks after a lost answer, its
metric read, its error and throttling mapping and its limits. The publish and poll stages
(`publishing/stages.py`) call only `copy`, `rendition`, `publish`, `status` and `read_metrics`.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from phantoms.resilience.errors import PermanentError, RateLimited
from phantoms.resilience.http import pooled_client, provider_message, raise_for_status, send
from publishing import selectors

from . import base_url, credentials

# How long an adapter reuses the token it read (connections refresh tokens minutes before they expire).
TOKEN_REUSE_SECONDS = 60.0
METRIC_NAMES = ("views", "likes", "comments", "shares", "saves", "watch_time_seconds", "impressions")


@dataclass
class Copy:
    """The words that go with a video on one platform (title, description, hashtags)."""

    title: str
    description: str
    hashtags: list[str] = field(default_factory=list)

    @property
    def caption(self) -> str:
        return f"{self.description}\n\n{' '.join(self.hashtags)}".strip()


@dataclass
class Posted:
    """What the platform says about our post: `processing`, `published` or `failed` (with its reason)."""

    id: str
    status: str = "processing"
    url: str = ""
    reason: str = ""


@dataclass
class MetricsReading:
    """One post's numbers under the canonical metric names.

    A metric the platform does not give is None, never 0; `gone` says the post was deleted or made
    private (its numbers are then all None).
    """

    values: dict[str, int | None]
    gone: bool = False


@dataclass(frozen=True)
class RenditionSpec:
    """A platform's documented limits for an uploaded video (publishing/renditions.py meets them)."""

    max_duration: float
    max_bytes: int
    max_width: int = 1080
    max_height: int = 1920
    max_fps: float = 60.0
    min_duration: float = 1.0
    video_codec: str = "h264"
    audio_codec: str = "aac"

    @property
    def key(self) -> str:
        return (f"{self.video_codec}-{self.audio_codec}-{self.max_width}x{self.max_height}-{self.max_fps:g}fps-"
                f"{self.min_duration:g}-{self.max_duration:g}s-{self.max_bytes}b")


class Handles:
    """The platform's handles for one publication (session URI, publish_id, container id, media id).

    `save()` persists at once, in its own commit, before the adapter makes the call that depends on
    the handle: after a crash or a lost answer, the next run finds it and asks the platform about it.
    `note()` records what the platform answered when it was asked, the evidence a person sees in the
    admin when the answer could not prove whether a post exists.
    """

    def __init__(self, values: dict | None = None, *, persist: Callable[[dict, list], None] | None = None,
                 evidence: list | None = None):
        self._values = dict(values or {})
        self._persist = persist
        self.evidence = list(evidence or [])
        # Set when an earlier irreversible call's answer was lost and the platform could not yet be
        # asked: if the attempts run out, a person decides (Context.outcome_uncertain).
        self.uncertain = False

    def get(self, key: str, default=None):
        return self._values.get(key, default)

    def __getitem__(self, key: str):
        return self._values[key]

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def as_dict(self) -> dict:
        return dict(self._values)

    def save(self, **values) -> None:
        """Set (or, with None, drop) handles and commit them before returning."""
        for key, value in values.items():
            if value is None:
                self._values.pop(key, None)
            else:
                self._values[key] = value
        self._flush()

    def note(self, asked: str, answer: str) -> None:
        self.evidence.append({"asked": asked, "answer": answer[:2000]})
        self.evidence = self.evidence[-20:]
        self._flush()

    def _flush(self):
        if self._persist is not None:
            self._persist(dict(self._values), list(self.evidence))


@dataclass
class PublishRequest:
    """One run of the publish stage: the rendition to send, its words, and the stored handles."""

    video: Path
    copy: Copy
    handles: Handles
    # Our own id for the publication: never sent as a lookup key (no platform offers one), only used
    # where a platform takes an opaque reference of ours.
    key: str = ""
    # The video's length in seconds, checked against limits the platform reports at run time.
    duration: float | None = None
    # The editor's cover frame, in seconds from the start (pipeline.models.Asset.cover_timestamp), and
    # that frame as an image, for platforms that take a picture rather than a time.
    cover_at: float | None = None
    cover: Path | None = None


class Adapter:
    """One platform. Subclasses set the class attributes and implement the protocol methods."""

    name = ""
    # How many post ids one metrics call may carry.
    metrics_batch = 1
    title_limit = 100
    caption_limit = 2200
    max_hashtags = 30
    rendition = RenditionSpec(max_duration=60.0, max_bytes=256 * 1024 * 1024)

    def __init__(self, channel, *, base_url: str | None = None, client: httpx.Client | None = None):
        self.channel = channel
        self.base_url = (base_url or _base_url(self.name or channel.platform)).rstrip("/")
        self.provider = self.name or channel.platform
        self._client = client

    def cover_ms(self, request: PublishRequest) -> int | None:
        """The cover frame as the platforms take it, in whole milliseconds inside the video sent."""
        if request.cover_at is None:
            return None
        end = min(request.duration or self.rendition.max_duration, self.rendition.max_duration)
        return max(0, min(round(request.cover_at * 1000), int(end * 1000) - 1))

    def http_client(self) -> httpx.Client:
        """The process's keep-alive client for this platform (a test may hand the adapter its own)."""
        return self._client or pooled_client(self.base_url)

    # --- the words: the one place a platform's title, caption and hashtags come from
    def copy(self, asset) -> Copy:
        script = asset.script or {}
        title = asset.title or script.get("title", "")
        # An editor's words for this platform (the asset page, "Per platform") win over the script's.
        title, description, hashtags = selectors.with_override(
            asset, self.provider, title, script.get("description", ""), script.get("hashtags", []))
        hashtags = [tag if tag.startswith("#") else f"#{tag}" for tag in hashtags]
        return self.shape_copy(Copy(title=self.fit(title, self.title_limit), description=description,
                                    hashtags=hashtags[: self.max_hashtags]))

    def shape_copy(self, copy: Copy) -> Copy:
        """A platform's own rules for its words (limits, required tags); the default fits the caption."""
        room = self.caption_limit - len(" ".join(copy.hashtags)) - 2
        copy.description = self.fit(copy.description, max(room, 0))
        return copy

    @staticmethod
    def fit(text: str, limit: int) -> str:
        return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"

    # --- the protocol
    def publish(self, request: PublishRequest) -> Posted:
        """Create the post exactly once: store each handle before the call that depends on it, and
        after a lost answer ask the platform about the stored handle before repeating anything."""
        raise NotImplementedError

    def status(self, remote_id: str, handles: Handles) -> Posted:
        """Where the post's processing stands."""
        raise NotImplementedError

    def read_metrics(self, post_ids: list[str]) -> dict[str, MetricsReading]:
        """Numbers for many posts, `metrics_batch` ids per call."""
        readings: dict[str, MetricsReading] = {}
        ids = list(dict.fromkeys(post_ids))
        for start in range(0, len(ids), max(self.metrics_batch, 1)):
            readings.update(self.fetch_metrics(ids[start:start + self.metrics_batch]))
        return readings

    def fetch_metrics(self, post_ids: list[str]) -> dict[str, MetricsReading]:
        raise NotImplementedError

    def metrics(self, remote_id: str) -> dict:
        """One post's numbers as a flat dict (what a metric readback stores)."""
        reading = self.read_metrics([remote_id]).get(remote_id) or MetricsReading({}, gone=True)
        return {**{name: reading.values.get(name) for name in METRIC_NAMES}, "gone": reading.gone}

    # --- HTTP: the token, the platform's error mapping
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.access_token()}"}

    def access_token(self) -> str:
        """The channel's token, read (and decrypted) once for the calls of one job: an adapter lives for
        one stage run. Read again after TOKEN_REUSE_SECONDS (every refresh margin is longer) and after a 401."""
        held = getattr(self, "_token", None)
        if held is None or time.monotonic() - held[1] > TOKEN_REUSE_SECONDS:
            held = self._token = (credentials.access_token(self.channel), time.monotonic())
        return held[0]

    def call(self, method: str, url: str, *, irreversible: bool = False, headers: dict | None = None,
             accept: tuple[int, ...] = (), authorized: bool = True, **kwargs) -> httpx.Response:
        """One request to the platform, classified by `check` (relative URLs join the base URL).

        Statuses in `accept` come back as answers instead of errors (a 404 that means "this session
        expired" is information, not a failure). `authorized=False` leaves the token out (an upload URL
        that carries its own credentials)."""
        if not url.startswith(("http://", "https://")):
            url = f"{self.base_url}/{url.lstrip('/')}"

        def check(response, provider):
            return response if response.status_code in accept else self.check(response, provider)

        return send(self.http_client(), method, url, provider=self.provider, irreversible=irreversible,
                    headers={**(self.headers() if authorized else {}), **(headers or {})}, check=check, **kwargs)

    def check(self, response: httpx.Response, provider: str) -> httpx.Response:
        """Map the platform's answer to a failure class: 401 to credentials, throttling to RateLimited
        (a deferral the breaker does not count), the rest by status code."""
        if response.status_code == 401:
            self._token = None
            credentials.on_unauthorized(self.channel, provider_message(response))
        wait = self.throttled(response)
        if wait is not None:
            raise RateLimited(provider_message(response), retry_after=wait, provider=provider,
                              status_code=response.status_code)
        return raise_for_status(response, provider)

    def throttled(self, response: httpx.Response) -> float | None:
        """Seconds to wait if this answer is the platform saying "not now", else None."""
        return None

    def rejected(self, message: str, status_code: int | None = None) -> PermanentError:
        return PermanentError(message, provider=self.provider, status_code=status_code)


def _base_url(name: str) -> str:
    return base_url(name)
