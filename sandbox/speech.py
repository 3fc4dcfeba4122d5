"""The sandbox's voice: speech spoken with the offline engine, remembered so it can be transcribed.

The speech endpoint speaks with eSpeak NG and keeps, for each clip it returns, a fingerprint of its
samples and the engine's word timings. The transcription endpoint finds those clips in the audio
it is sent (one clip, or several joined back to back, as a client joins a long narration spoken in
pieces) and answers with the words at the times they are really heard. Audio the sandbox never
spoke has no words it can recognise: it is transcribed as silence, as a recogniser would.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import wave

from django.conf import settings

from pipeline.media.ffmpeg import ffmpeg_exe
from pipeline.media.voice import NATURAL_RATE, espeak, timings_from_events
from sandbox import faults

SAMPLE_RATE = 24_000  # what the speech endpoint returns for wav and pcm
_HEAD_BYTES = 4096
_TTL_SECONDS = 24 * 3600
_PUNCTUATION = re.compile(r"^[^\w]+|[^\w]+$")


def _key(fingerprint: str) -> str:
    prefix = getattr(settings, "SANDBOX_KEY_PREFIX", faults.DEFAULT_KEY_PREFIX)
    return f"{prefix}:speech:{fingerprint}"


def _fingerprint(pcm: bytes) -> str:
    return hashlib.sha256(pcm[:_HEAD_BYTES]).hexdigest()


def resample(pcm: bytes, rate: int, to: int = SAMPLE_RATE) -> bytes:
    """Mono 16-bit PCM from `rate` to `to` Hz, through ffmpeg's resampler."""
    if rate == to:
        return pcm
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "s16le", "-ar", str(rate), "-ac", "1",
         "-i", "pipe:0", "-f", "s16le", "-ar", str(to), "-ac", "1", "pipe:1"],
        input=pcm, capture_output=True, timeout=60, check=True)
    return result.stdout


def speak(text: str, speed: float = 1.0) -> tuple[bytes, list[dict]]:
    """24 kHz mono 16-bit PCM of `text` spoken at `speed`, and its word timings; remembered for transcription."""
    spoken = " ".join(text.split())
    rate = max(80, min(450, round(NATURAL_RATE * speed)))
    speech = espeak().synthesize(spoken, rate=rate)
    timings = timings_from_events(spoken, speech)
    pcm = resample(speech.samples.tobytes(), speech.sample_rate)
    record = {"length": len(pcm), "sha256": hashlib.sha256(pcm).hexdigest(), "words": timings}
    faults.connection().set(_key(_fingerprint(pcm)), json.dumps(record), ex=_TTL_SECONDS)
    return pcm, timings


def wav_bytes(pcm: bytes, rate: int = SAMPLE_RATE) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return buffer.getvalue()


def recognise(pcm: bytes, rate: int) -> list[dict]:
    """The words heard in mono 16-bit `pcm`: every remembered clip found in it, in order, at its offset."""
    words: list[dict] = []
    if rate != SAMPLE_RATE:
        return words
    offset = 0
    while offset + 2 <= len(pcm):
        raw = faults.connection().get(_key(_fingerprint(pcm[offset:])))
        if raw is None:
            break
        record = json.loads(raw)
        clip = pcm[offset:offset + record["length"]]
        if len(clip) != record["length"] or hashlib.sha256(clip).hexdigest() != record["sha256"]:
            break
        shift = offset / 2 / rate
        for timing in record["words"]:
            # A recogniser reports words without the punctuation around them.
            word = _PUNCTUATION.sub("", timing["word"])
            if word:
                written = timing["word"]
                words.append({"word": word, "text": written, "start": round(timing["start"] + shift, 3),
                              "end": round(timing["end"] + shift, 3),
                              "sentence_end": written.rstrip("\"')]}»”’").endswith((".", "!", "?", "…"))})
        offset += record["length"]
    return words
