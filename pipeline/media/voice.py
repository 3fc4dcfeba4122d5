"""Offline narration: espeak-ng when the machine has it, otherwise a silent track of speaking length.

Either way the result carries word timings, so captions can be timed even when no engine says
when each word is spoken.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

from phantoms.resilience.errors import ConfigurationError, PermanentError, TransientError

from .ffmpeg import probe

logger = logging.getLogger(__name__)

# Silence carries no frequencies: 16 kHz keeps a placeholder track small, and every render resamples
# its audio to 48 kHz anyway.
SILENCE_SAMPLE_RATE = 16_000
MIN_SILENCE_SECONDS = 1.0
ENGINES = ("auto", "espeak-ng", "silence")

# Extra time after a word, in character-widths, so estimated captions breathe where a speaker would.
_CLAUSE_PAUSE = 2.0
_SENTENCE_PAUSE = 4.0
_TRAILING_QUOTES = "\"')]}»”’"


@dataclass
class VoiceTrack:
    path: Path
    duration: float
    engine: str
    timings: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["path"] = os.fspath(self.path)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> VoiceTrack:
        return cls(path=Path(data["path"]), duration=float(data["duration"]),
                   engine=data["engine"], timings=list(data.get("timings") or []))


def _pause_after(word: str) -> float:
    stripped = word.rstrip(_TRAILING_QUOTES)
    if stripped.endswith((".", "!", "?", "…")):
        return _SENTENCE_PAUSE
    if stripped.endswith((",", ";", ":", "—", "–")):
        return _CLAUSE_PAUSE
    return 0.0


def estimate_word_timings(text: str, duration: float) -> list[dict]:
    """Spread `duration` over the words of `text` by length, with pauses after punctuation.

    The first word starts at 0 and the last ends at `duration`; times never go backwards.
    """
    words = text.split()
    if not words or duration <= 0:
        return []
    weights = [len(word) + 1 for word in words]
    pauses = [_pause_after(word) for word in words[:-1]] + [0.0]
    total = sum(weights) + sum(pauses)
    scale = duration / total
    timings = []
    cursor = 0.0
    for word, weight, pause in zip(words, weights, pauses, strict=True):
        start = cursor
        end = start + weight * scale
        timings.append({"word": word, "start": round(start, 3), "end": round(end, 3)})
        cursor = end + pause * scale
    timings[-1]["end"] = round(duration, 3)
    return timings


def wav_duration(path: str | os.PathLike) -> float:
    try:
        with wave.open(os.fspath(path), "rb") as wav:
            rate = wav.getframerate()
            return wav.getnframes() / rate if rate else 0.0
    except (wave.Error, EOFError) as exc:
        raise PermanentError(f"{path} is not a readable WAV file: {exc}", provider="voice")


def audio_duration(path: str | os.PathLike) -> float:
    path = Path(path)
    if path.suffix.lower() == ".wav":
        try:
            return wav_duration(path)
        except PermanentError:
            # Float or extensible WAVs that the wave module rejects are still fine for ffmpeg.
            pass
    return probe(path).duration


def write_silence(out_path: str | os.PathLike, seconds: float, *,
                  sample_rate: int = SILENCE_SAMPLE_RATE) -> float:
    """Write a mono 16-bit silent WAV and return its exact duration."""
    frames = max(1, round(seconds * sample_rate))
    with wave.open(os.fspath(out_path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(bytes(2 * frames))
    return frames / sample_rate


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def _espeak(text: str, out_path: Path, words_per_second: float, timeout: float) -> None:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise ConfigurationError("espeak-ng is not installed", provider="espeak-ng")
    words_per_minute = max(80, min(450, round(words_per_second * 60)))
    # Text goes through a file so leading dashes or very long scripts are never read as options.
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as handle:
        handle.write(text)
        text_file = handle.name
    try:
        result = subprocess.run([exe, "-s", str(words_per_minute), "-w", os.fspath(out_path), "-f", text_file],
                                capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TransientError(f"espeak-ng took longer than {timeout:g} s", provider="espeak-ng")
    finally:
        os.unlink(text_file)
    if result.returncode != 0 or not out_path.is_file() or out_path.stat().st_size <= 44:
        detail = (result.stderr or result.stdout).strip()[-500:] or f"exit status {result.returncode}"
        raise PermanentError(f"espeak-ng failed: {detail}", provider="espeak-ng")


def synthesize_offline(text: str, out_path: str | os.PathLike, *, words_per_second: float = 2.6,
                       engine: str = "auto", timeout: float = 120) -> VoiceTrack:
    """Narrate `text` into a WAV at `out_path` without any network provider.

    engine="auto" uses espeak-ng when installed and falls back to silence if it is missing or
    fails; "espeak-ng" insists on it; "silence" always writes words / words_per_second seconds
    (at least one) of silence, which keeps timing and rendering testable on any machine.
    """
    if engine not in ENGINES:
        raise ConfigurationError(f"unknown offline voice engine {engine!r}; expected one of {ENGINES}",
                                 provider="voice")
    if words_per_second <= 0:
        raise ConfigurationError("words_per_second must be positive", provider="voice")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    words = text.split()

    if engine == "espeak-ng" or (engine == "auto" and words and espeak_available()):
        if not words:
            raise PermanentError("nothing to narrate: the text has no words", provider="espeak-ng")
        try:
            _espeak(" ".join(words), out_path, words_per_second, timeout)
            duration = audio_duration(out_path)
            return VoiceTrack(path=out_path, duration=duration, engine="espeak-ng",
                              timings=estimate_word_timings(text, duration))
        except (PermanentError, TransientError) as exc:
            if engine == "espeak-ng":
                raise
            logger.warning("espeak-ng failed, narrating with silence instead: %s", exc)

    seconds = max(MIN_SILENCE_SECONDS, len(words) / words_per_second)
    duration = write_silence(out_path, seconds)
    return VoiceTrack(path=out_path, duration=duration, engine="silence",
                      timings=estimate_word_timings(text, duration))
