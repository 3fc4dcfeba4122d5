"""Narration from OpenAI text-to-speech (or any server that speaks its audio protocol), timed by transcription.

- Speech: `POST /v1/audio/speech` (Create speech: `model`, `voice`, `input` of at most 4096
  characters, `speed` 0.25-4.0, `response_format` "wav"). Longer narrations are spoken in pieces
  and joined. The endpoint returns audio only: no word timings, no usage.
- Timings: the joined audio goes to `POST /v1/audio/transcriptions` (Create transcription,
  multipart, `response_format=verbose_json`, `timestamp_granularities[]=word`), whose `words`
  carry `start`/`end` in seconds. The transcript's words are aligned back to the script's words
  (pipeline.providers.voice.alignment), so captions show what was written at the time it was said.
  When transcription is switched off (`OPENAI_TRANSCRIBE_MODEL=""`), fails, or does not match the
  script, the timings are estimated from the audio's length and labelled "estimated".
- Spend: speech is priced per character or per minute of audio, transcription per minute
  (`OPENAI_TTS_PRICES`, `OPENAI_TRANSCRIBE_PRICES`); a model without a price is recorded with a
  null cost and a note saying so.
"""

import io
import logging
import os
import re
import wave
from pathlib import Path

import openai
from django.conf import settings

from phantoms.resilience.errors import PermanentError, ProviderError, TransientError
from pipeline.media.voice import (
    TIMINGS_ESTIMATED,
    TIMINGS_TRANSCRIPTION,
    VoiceTrack,
    audio_duration,
    estimate_word_timings,
)
from pipeline.providers.base import VoiceProvider
from pipeline.providers.openai_client import openai_client, openai_errors
from pipeline.providers.voice.alignment import MIN_MATCHED, align_words
from pipeline.selectors import measured_pace

logger = logging.getLogger(__name__)

PROVIDER = "tts"
# The speech endpoint refuses longer inputs; longer narrations are spoken in pieces and joined.
MAX_INPUT_CHARS = 4096
# The transcription endpoint takes files of at most 25 MB.
MAX_TRANSCRIBE_BYTES = 25 * 1024 * 1024
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def split_text(text: str, limit: int = MAX_INPUT_CHARS) -> list[str]:
    """Pieces of at most `limit` characters, cut between sentences where possible, else between words."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(text):
        units = [sentence] if len(sentence) <= limit else sentence.split(" ")
        for unit in units:
            candidate = f"{current} {unit}" if current else unit
            if len(candidate) <= limit:
                current = candidate
                continue
            if current:
                pieces.append(current)
            current = unit[:limit]
    if current:
        pieces.append(current)
    return pieces


def _pcm(data: bytes) -> tuple[tuple, bytes]:
    """(channels, sample width, rate) and the frames of a PCM WAV.

    Reads the frames actually present rather than trusting the header's length: streamed WAVs
    often carry a placeholder size there, which would make the measured duration absurd.
    """
    with wave.open(io.BytesIO(data), "rb") as wav:
        params = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate())
        frames = wav.readframes(wav.getnframes())
    return params, frames


def write_wav(pieces: list[bytes], path: Path) -> float:
    """Write the spoken pieces as one WAV with a correct header; return its duration."""
    decoded = [_pcm(piece) for piece in pieces]
    params = decoded[0][0]
    if any(other != params for other, _ in decoded[1:]):
        raise PermanentError("the speech pieces came back in different audio formats", provider=PROVIDER)
    channels, width, rate = params
    frames = b"".join(chunk for _, chunk in decoded)
    with wave.open(os.fspath(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(frames)
    return len(frames) / (channels * width * rate)


def _priced(prices: dict, model: str) -> dict | None:
    if model in prices:
        return prices[model]
    dated = re.fullmatch(r"(.+)-\d{4}-\d{2}-\d{2}", model or "")
    return prices.get(dated.group(1)) if dated else None


def speech_cost(model: str, characters: int, seconds: float) -> dict:
    price = _priced(settings.OPENAI_TTS_PRICES, model)
    if price is None:
        return {"cost_usd": None, "cost_note": f"no price known for speech model {model!r}"}
    if "per_million_characters" in price:
        return {"cost_usd": round(characters * price["per_million_characters"] / 1_000_000, 8)}
    return {"cost_usd": round(seconds / 60 * price["per_minute"], 8)}


def transcription_cost(model: str, seconds: float) -> dict:
    price = _priced(settings.OPENAI_TRANSCRIBE_PRICES, model)
    if price is None:
        return {"cost_usd": None, "cost_note": f"no price known for transcription model {model!r}"}
    return {"cost_usd": round(seconds / 60 * price["per_minute"], 8)}


def _engine_label() -> str:
    return f"{settings.OPENAI_TTS_MODEL}/{settings.OPENAI_TTS_VOICE}"[:32]


class OpenAIVoice(VoiceProvider):
    name = "openai"
    breaker = "tts"
    rate_limit = "tts"

    def words_per_second(self, asset=None) -> float:
        """Measured from this voice's recent narrations; the configured pace until there are enough."""
        measured = measured_pace(f"{self.name}:{_engine_label()}")
        return measured or settings.OPENAI_TTS_WORDS_PER_SECOND * settings.OPENAI_TTS_SPEED

    def describe(self) -> str:
        timing = (f"timed by {settings.OPENAI_TRANSCRIBE_MODEL} transcription" if settings.OPENAI_TRANSCRIBE_MODEL
                  else "estimated timings")
        return f"OpenAI speech {_engine_label()} at {settings.OPENAI_BASE_URL}, {timing}"

    def speak(self, client, text: str) -> bytes:
        with openai_errors(PROVIDER):
            response = client.audio.speech.create(
                model=settings.OPENAI_TTS_MODEL, voice=settings.OPENAI_TTS_VOICE, input=text,
                speed=settings.OPENAI_TTS_SPEED, response_format="wav", timeout=settings.OPENAI_TTS_TIMEOUT,
            )
            audio = response.content
        if not audio:
            raise TransientError("the speech endpoint returned no audio", provider=PROVIDER)
        return audio

    def transcribe(self, client, path: Path) -> tuple[list[dict], float | None]:
        """The words heard in `path` with their times, and the seconds billed (None if not said)."""
        with openai_errors("transcription"), open(path, "rb") as audio:
            result = client.audio.transcriptions.create(
                file=(path.name, audio, "audio/wav"), model=settings.OPENAI_TRANSCRIBE_MODEL,
                response_format="verbose_json", timestamp_granularities=["word"],
                timeout=settings.OPENAI_TTS_TIMEOUT,
            )
        words = [{"word": str(word.word), "start": float(word.start), "end": float(word.end)}
                 for word in (getattr(result, "words", None) or [])]
        usage = getattr(result, "usage", None)
        billed = getattr(usage, "seconds", None) if usage is not None else None
        return words, (float(billed) if billed is not None else None)

    def _timings(self, client, path: Path, text: str, duration: float) -> tuple[list[dict], str, dict]:
        model = settings.OPENAI_TRANSCRIBE_MODEL
        if not model:
            return (estimate_word_timings(text, duration), TIMINGS_ESTIMATED,
                    {"skipped": "OPENAI_TRANSCRIBE_MODEL is empty"})
        if path.stat().st_size > MAX_TRANSCRIBE_BYTES:
            return (estimate_word_timings(text, duration), TIMINGS_ESTIMATED,
                    {"skipped": "the audio is larger than the transcription endpoint's 25 MB limit"})
        try:
            heard, billed = self.transcribe(client, path)
        except (ProviderError, openai.OpenAIError) as exc:
            # The speech is paid for and fine; only its timings are less exact. Say so, keep going.
            logger.warning("transcribing the narration failed, estimating its word timings: %s", exc)
            return estimate_word_timings(text, duration), TIMINGS_ESTIMATED, {"model": model, "error": str(exc)}
        seconds = billed if billed is not None else duration
        usage = {"model": model, "audio_seconds": round(seconds, 3), **transcription_cost(model, seconds)}
        timings, matched = align_words(text.split(), heard, duration)
        usage["matched"] = round(matched, 3)
        if matched < MIN_MATCHED:
            logger.warning("the transcript matched %.0f%% of the script's words, estimating timings instead",
                           matched * 100)
            return estimate_word_timings(text, duration), TIMINGS_ESTIMATED, usage
        return timings, TIMINGS_TRANSCRIPTION, usage

    def synthesize(self, asset, text: str, out_dir: Path) -> VoiceTrack:
        pieces_text = split_text(text)
        if not pieces_text:
            raise PermanentError("nothing to narrate: the script has no words", provider=PROVIDER)
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        spoken = " ".join(pieces_text)
        with openai_client(settings.OPENAI_TTS_TIMEOUT) as client:
            pieces = [self.speak(client, piece) for piece in pieces_text]

            path = out_dir / "voice.wav"
            partial = out_dir / "voice.part.wav"
            try:
                duration = write_wav(pieces, partial)
            except (wave.Error, EOFError) as exc:
                if len(pieces) > 1:
                    raise PermanentError(f"expected PCM WAV audio to join the pieces: {exc}", provider=PROVIDER)
                # Not plain PCM (float or extensible WAV): keep the bytes as sent and let ffmpeg measure them.
                partial.write_bytes(pieces[0])
                duration = audio_duration(partial)
            if duration <= 0:
                partial.unlink(missing_ok=True)
                raise TransientError("the speech endpoint returned silence of zero length", provider=PROVIDER)
            os.replace(partial, path)
            timings, source, transcription = self._timings(client, path, spoken, duration)

        model = settings.OPENAI_TTS_MODEL
        usage = {"model": model, "voice": settings.OPENAI_TTS_VOICE, "characters": len(spoken),
                 "audio_seconds": round(duration, 3), **speech_cost(model, len(spoken), duration),
                 "transcription": transcription}
        return VoiceTrack(path=path, duration=duration, engine=_engine_label(), timings=timings,
                          timings_source=source, usage=usage)
