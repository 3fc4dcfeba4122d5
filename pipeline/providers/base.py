"""What each kind of provider promises the stage that calls it."""

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.script_format import Script


@dataclass
class ScriptResult:
    script: Script
    model: str = ""
    usage: dict = field(default_factory=dict)
    template: object = None


class ScriptWriter:
    name = ""
    breaker: str | None = None
    rate_limit: str | None = None

    def write(self, asset, *, words_per_second: float | None = None) -> ScriptResult:
        """A script for `asset`, sized for a voice that speaks `words_per_second`."""
        raise NotImplementedError


class VoiceProvider:
    name = ""
    breaker: str | None = None
    rate_limit: str | None = None
    # Benchmark-only providers are chosen by setting, never per asset through the API or the admin.
    benchmark_only = False

    def words_per_second(self, asset=None) -> float:
        """How many script words this voice speaks per second: scripts are written to fit it."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line for people saying which voice this is."""
        return self.name

    def synthesize(self, asset, text: str, out_dir: Path):
        """Return a pipeline.media.voice.VoiceTrack for `text`, written under `out_dir`."""
        raise NotImplementedError


class Renderer:
    name = ""
    breaker: str | None = None
    rate_limit: str | None = None
    # A renderer that keeps work in flight between stage runs (submit, then poll) records it on the
    # asset under the stage's lease, so it is also handed the runner's Context as `ctx=`.
    needs_context = False

    def render(self, asset, spec, out_path: Path, progress=None):
        """Render `spec` (pipeline.media.render.RenderSpec) to `out_path`; return its MediaInfo.

        A renderer that cannot finish now raises NotReady(retry_after=...) and is called again later.
        """
        raise NotImplementedError

    def cover(self, video: Path, at: float, out_path: Path) -> Path:
        """Write the cover frame (the frame shown at `at` seconds) as a JPEG at `out_path`."""
        from pipeline.media.ffmpeg import extract_frame

        return extract_frame(video, at, out_path)


@dataclass
class BeatRequest:
    """One beat's need for a visual: what to look for and how long it is on screen."""

    index: int
    query: str
    on_screen: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class VisualsResult:
    """One visual per beat (dicts: beat, kind, path, start, end, query, provider, attribution, ...)."""

    visuals: list[dict]
    usage: dict = field(default_factory=dict)


class VisualsProvider:
    name = ""
    breaker: str | None = None
    rate_limit: str | None = None
    # A provider with nothing to fetch: the voice stage hands the asset straight to the render in its
    # own commit, without a visuals job (as an upload answered with a live post needs no poll job).
    inline = False

    def fetch(self, asset, beats: list[BeatRequest], out_dir: Path, *, theme: str) -> VisualsResult:
        """Write one visual per beat under `out_dir` (absolute paths in the result)."""
        raise NotImplementedError
