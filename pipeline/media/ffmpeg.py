"""Running and probing with the ffmpeg binary that imageio-ffmpeg ships.

That build has no ffprobe, so `probe` reads the stream summary ffmpeg prints for `-i`. Failures
are mapped onto the resilience classes: a killed-on-timeout run is transient (the machine was
busy), a non-zero exit is permanent (the same inputs will fail the same way).
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from phantoms.resilience.errors import ConfigurationError, PermanentError, TransientError

PROVIDER = "ffmpeg"
_STDERR_TAIL_LINES = 12
# How often ffmpeg reports progress; the 0.5 s default leaves short renders with one or two updates.
_PROGRESS_PERIOD = "0.25"


class Cancelled(TransientError):
    """ffmpeg was stopped (or never started) because its caller gave up on it: another part of the
    same job failed or the job is being stopped. Says nothing about the inputs."""


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    has_subtitle_stream: bool = False
    audio_sample_rate: int | None = None
    audio_channels: str | None = None
    pix_fmt: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@functools.cache
def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg
    except ImportError:
        raise ConfigurationError("imageio-ffmpeg is not installed, so there is no ffmpeg binary",
                                 provider=PROVIDER)
    try:
        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:
        raise ConfigurationError(f"no ffmpeg binary: {exc}", provider=PROVIDER)
    if not exe or not os.access(exe, os.X_OK):
        raise ConfigurationError(f"ffmpeg binary {exe!r} is not executable", provider=PROVIDER)
    return exe


@functools.cache
def has_filter(name: str) -> bool:
    """Whether this ffmpeg build has a filter; builds differ, so optional effects check first."""
    result = subprocess.run([ffmpeg_exe(), "-hide_banner", "-filters"],
                            capture_output=True, text=True, timeout=30)
    return any(line.split()[1:2] == [name] for line in result.stdout.splitlines() if line.strip())


def _tail(text: str, lines: int = _STDERR_TAIL_LINES) -> str:
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def run_ffmpeg(
    args: Sequence[str | os.PathLike],
    *,
    timeout: float,
    progress: Callable[[float], None] | None = None,
    duration: float | None = None,
    cwd: str | os.PathLike | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Run ffmpeg with `args` (everything after the binary name, inputs and outputs included).

    `progress` receives fractions in 0..1 computed from ffmpeg's `out_time_ms` against
    `duration` (the expected output length); without a duration it is only called with 1.0 at
    the end. The fractions never decrease.

    `cancel`, when set (by another thread), kills ffmpeg at its next progress report (at most a
    quarter of a second) and raises Cancelled; a run asked to start after it is set never starts.
    """
    if cancel is not None and cancel.is_set():
        raise Cancelled("ffmpeg not started: cancelled", provider=PROVIDER)
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
           "-progress", "pipe:1", "-stats_period", _PROGRESS_PERIOD, "-nostats", *(os.fspath(a) for a in args)]
    # stderr goes to a file rather than a pipe so a chatty ffmpeg can never block on a full pipe
    # while this thread is busy reading progress from stdout.
    with tempfile.TemporaryFile(mode="w+b") as stderr_file:
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr_file, cwd=cwd)
        except OSError as exc:
            raise ConfigurationError(f"cannot start ffmpeg: {exc}", provider=PROVIDER)

        timed_out = threading.Event()

        def kill_on_timeout() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, kill_on_timeout)
        timer.daemon = True
        started = time.monotonic()
        timer.start()
        last_fraction = 0.0
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                if cancel is not None and cancel.is_set():
                    proc.kill()
                    break
                key, _, value = raw.decode("utf-8", "replace").strip().partition("=")
                if progress is None:
                    continue
                if key == "out_time_ms" and duration and value.lstrip("-").isdigit():
                    # Despite its name, out_time_ms is in microseconds.
                    fraction = min(1.0, max(0.0, int(value) / 1_000_000 / duration))
                    if fraction > last_fraction:
                        last_fraction = fraction
                        progress(fraction)
                elif key == "progress" and value == "end" and last_fraction < 1.0:
                    last_fraction = 1.0
                    progress(1.0)
            returncode = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        stderr_file.seek(0)
        stderr = stderr_file.read().decode("utf-8", "replace")

    if cancel is not None and cancel.is_set() and returncode != 0:
        raise Cancelled("ffmpeg stopped: cancelled", provider=PROVIDER)
    if timed_out.is_set():
        raise TransientError(
            f"ffmpeg killed after {time.monotonic() - started:.0f} s (timeout {timeout:g} s)",
            provider=PROVIDER)
    if returncode < 0:
        # Killed by a signal (the OOM killer, a shutdown): says nothing about the inputs, so retry.
        raise TransientError(f"ffmpeg was killed by signal {-returncode}", provider=PROVIDER)
    if returncode != 0:
        detail = _tail(stderr) or "no error output"
        raise PermanentError(f"ffmpeg exited with status {returncode}: {detail}", provider=PROVIDER)


_DURATION_RE = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_STREAM_RE = re.compile(r"^\s*Stream #\d+:\d+.*?:\s*(Video|Audio|Subtitle):\s*(.*)$")
_SIZE_RE = re.compile(r"(?<![\dx])(\d{2,5})x(\d{2,5})(?![\dx])")
_FPS_RE = re.compile(r"([\d.]+)(k?)\s+fps")
_TBR_RE = re.compile(r"([\d.]+)(k?)\s+tbr")
_RATE_RE = re.compile(r"(\d+)\s+Hz")
_FIELDS_RE = re.compile(r",\s*(?![^()]*\))")


def _rate(match: re.Match | None) -> float | None:
    if not match:
        return None
    value = float(match.group(1)) * (1000 if match.group(2) else 1)
    return round(value, 3)


def parse_probe_output(text: str) -> MediaInfo:
    """Read the `Input #0` summary ffmpeg prints to stderr; only the first stream of a kind counts."""
    duration_match = _DURATION_RE.search(text)
    duration = 0.0
    if duration_match:
        hours, minutes, seconds = duration_match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    fields: dict = {}
    has_subtitles = False
    for line in text.splitlines():
        stream = _STREAM_RE.match(line)
        if not stream:
            continue
        kind, desc = stream.groups()
        codec = desc.split(",")[0].split()[0] if desc.strip() else None
        if kind == "Video" and "video_codec" not in fields:
            fields["video_codec"] = codec
            size = _SIZE_RE.search(desc)
            if size:
                fields["width"], fields["height"] = int(size.group(1)), int(size.group(2))
            fields["fps"] = _rate(_FPS_RE.search(desc)) or _rate(_TBR_RE.search(desc))
            # The second field, commas inside parentheses kept: "yuv420p(tv, progressive)".
            parts = _FIELDS_RE.split(desc)
            fields["pix_fmt"] = parts[1].strip() if len(parts) > 1 else None
        elif kind == "Audio" and "audio_codec" not in fields:
            fields["audio_codec"] = codec
            rate = _RATE_RE.search(desc)
            fields["audio_sample_rate"] = int(rate.group(1)) if rate else None
            parts = [part.strip() for part in desc.split(",")]
            if rate and len(parts) > 2:
                fields["audio_channels"] = parts[2]
        elif kind == "Subtitle":
            has_subtitles = True
    return MediaInfo(duration=duration, has_subtitle_stream=has_subtitles, **fields)


def probe(path: str | os.PathLike, *, timeout: float = 60) -> MediaInfo:
    path = Path(path)
    if not path.is_file():
        raise PermanentError(f"cannot probe {path}: no such file", provider=PROVIDER)
    try:
        result = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", os.fspath(path)],
                                capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TransientError(f"probing {path} took longer than {timeout:g} s", provider=PROVIDER)
    stderr = result.stderr.decode("utf-8", "replace")
    # With no output file ffmpeg always exits 1; what matters is whether it could read the input.
    if "Input #0" not in stderr:
        raise PermanentError(f"cannot read {path}: {_tail(stderr, 4)}", provider=PROVIDER)
    return parse_probe_output(stderr)


def exact_duration(path: str | os.PathLike, *, timeout: float = 120) -> float:
    """Decode the whole file and report the last timestamp: slower than `probe`, but it does not
    trust the container header."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", os.fspath(path), "-f", "null", "-"],
        capture_output=True, timeout=timeout)
    stderr = result.stderr.decode("utf-8", "replace")
    if result.returncode != 0:
        raise PermanentError(f"cannot decode {path}: {_tail(stderr, 4)}", provider=PROVIDER)
    times = re.findall(r"time=(\d+):(\d+):(\d+(?:\.\d+)?)", stderr)
    if not times:
        return probe(path).duration
    hours, minutes, seconds = times[-1]
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def extract_frame(video: str | os.PathLike, at: float, out_path: str | os.PathLike, *, timeout: float = 60) -> Path:
    """Write the frame shown at `at` seconds as a JPEG (the cover); it appears only once complete."""
    out_path = Path(out_path)
    partial = out_path.with_name(out_path.stem + ".partial" + out_path.suffix)
    try:
        # -ss after -i decodes up to the exact frame instead of snapping to the keyframe before it.
        # JPEG wants full-range YUV; the video is limited range.
        run_ffmpeg(["-y", "-i", os.fspath(video), "-ss", f"{max(0.0, at):.3f}", "-frames:v", "1",
                    "-vf", "scale=out_range=full,format=yuvj420p", "-q:v", "2", "-f", "image2", "-c:v", "mjpeg",
                    os.fspath(partial)], timeout=timeout)
        if not partial.is_file() or partial.stat().st_size == 0:
            raise PermanentError(f"no frame at {at:.2f} s in {video}", provider=PROVIDER)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out_path)
    return out_path
