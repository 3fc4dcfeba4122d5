"""Narration from OpenAI text-to-speech (or any server that speaks its audio/speech protocol).

The API gives no word timings, so captions are timed by spreading the measured audio length over
the words (pipeline.media.voice.estimate_word_timings).
"""

import io
import os
import re
import wave
from pathlib import Path

from django.conf import settings

from phantoms.resilience.errors import PermanentError, TransientError
from pipeline.media.voice import VoiceTrack, audio_duration, estimate_word_timings
from pipeline.providers.base import VoiceProvider
from pipeline.providers.openai_client import openai_client, openai_errors

PROVIDER = "tts"
# The speech endpoint refuses longer inputs; longer narrations are spoken in pieces and joined.
MAX_INPUT_CHARS = 4096
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


class OpenAIVoice(VoiceProvider):
    name = "openai"
    breaker = "tts"
    rate_limit = "tts"

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

    def synthesize(self, asset, text: str, out_dir: Path) -> VoiceTrack:
        pieces_text = split_text(text)
        if not pieces_text:
            raise PermanentError("nothing to narrate: the script has no words", provider=PROVIDER)
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
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
        engine = f"{settings.OPENAI_TTS_MODEL}/{settings.OPENAI_TTS_VOICE}"[:32]
        return VoiceTrack(path=path, duration=duration, engine=engine,
                          timings=estimate_word_timings(" ".join(pieces_text), duration))
