"""OpenAI text-to-speech and transcription against recorded protocol answers: real WAVs in, timed tracks out."""

import json
import re
import wave

import httpx
import pytest

from phantoms.resilience.errors import PermanentError, RateLimited, TransientError
from pipeline.media.ffmpeg import probe
from pipeline.providers.voice.alignment import align_words
from pipeline.providers.voice.openai import MAX_INPUT_CHARS, OpenAIVoice, split_text
from tests.providers.conftest import recorded, tone_wav

TEXT = "Go to bed at the same time every night. Dim the lights an hour before."


def heard_words(text: str, *, start: float = 0.1, step: float = 0.15) -> list[dict]:
    """What a recogniser returns for `text`: words without punctuation, evenly spaced."""
    words = [re.sub(r"[^\w']", "", word) for word in text.split()]
    return [{"word": word, "start": round(start + i * step, 3), "end": round(start + i * step + 0.12, 3)}
            for i, word in enumerate(words)]


def verbose(words: list[dict], duration: float = 2.5) -> dict:
    """A verbose_json transcription with word timestamps, as the API reference shows it."""
    return {"task": "transcribe", "language": "english", "duration": duration,
            "text": " ".join(w["word"] for w in words), "words": words,
            "usage": {"type": "duration", "seconds": 3}}


@pytest.fixture
def tts(openai_api, settings):
    settings.OPENAI_TTS_MODEL = "gpt-4o-mini-tts"
    settings.OPENAI_TTS_VOICE = "coral"
    settings.OPENAI_TTS_SPEED = 1.25
    settings.OPENAI_TRANSCRIBE_MODEL = "whisper-1"
    openai_api.post("/audio/transcriptions").mock(return_value=httpx.Response(200, json=verbose(heard_words(TEXT))))
    return openai_api


def speech(mock, status=200, **kwargs):
    return mock.post("/audio/speech").mock(return_value=httpx.Response(status, **kwargs))


def transcription(mock, status=200, **kwargs):
    return mock.post("/audio/transcriptions").mock(return_value=httpx.Response(status, **kwargs))


def test_success_writes_a_real_wav_timed_by_its_transcription(tts, tmp_path):
    route = speech(tts, content=tone_wav(2.5), headers={"content-type": "audio/wav"})
    heard = heard_words(TEXT)
    transcribed = transcription(tts, json=verbose(heard))

    track = OpenAIVoice().synthesize(None, TEXT, tmp_path)

    assert track.path == tmp_path / "voice.wav" and track.path.is_file()
    assert track.duration == pytest.approx(2.5, abs=0.001)
    assert probe(track.path).duration == pytest.approx(2.5, abs=0.05)
    assert track.engine == "gpt-4o-mini-tts/coral"
    sent = json.loads(route.calls.last.request.content)
    assert sent == {"model": "gpt-4o-mini-tts", "voice": "coral", "input": TEXT, "speed": 1.25,
                    "response_format": "wav"}
    # The script's words (with their punctuation) at the times the recogniser heard them.
    assert track.timings_source == "transcription"
    assert [t["word"] for t in track.timings] == TEXT.split()
    assert [(t["start"], t["end"]) for t in track.timings] == [(w["start"], w["end"]) for w in heard]
    request = transcribed.calls.last.request
    assert request.headers["content-type"].startswith("multipart/form-data")
    body = request.content
    assert track.path.read_bytes() in body  # the file sent is the narration itself
    for name, value in (("model", b"whisper-1"), ("response_format", b"verbose_json"),
                        ("timestamp_granularities[]", b"word")):
        assert re.search(rb'name="' + re.escape(name.encode()) + rb'"\r\n\r\n' + value + rb"\r\n", body), name
    # Spend: gpt-4o-mini-tts per minute of audio, whisper-1 per minute billed.
    assert track.usage["characters"] == len(TEXT) and track.usage["audio_seconds"] == 2.5
    assert track.usage["cost_usd"] == pytest.approx(2.5 / 60 * 0.015)
    assert track.usage["transcription"]["cost_usd"] == pytest.approx(3 / 60 * 0.006)
    assert track.usage["transcription"]["matched"] == 1.0
    assert not list(tmp_path.glob("*.part.wav"))


def test_transcripts_that_write_words_differently_are_aligned_to_the_script():
    script = "In 2024 Dr. Smith slept well".split()
    heard = [{"word": "In", "start": 0.0, "end": 0.2}, {"word": "twenty", "start": 0.3, "end": 0.6},
             {"word": "twenty-four", "start": 0.6, "end": 1.1}, {"word": "Doctor", "start": 1.2, "end": 1.5},
             {"word": "Smith", "start": 1.5, "end": 1.8}, {"word": "um", "start": 1.9, "end": 2.0},
             {"word": "well", "start": 2.5, "end": 2.8}]

    timings, matched = align_words(script, heard, 3.0)

    assert [t["word"] for t in timings] == script
    by_word = {t["word"]: t for t in timings}
    assert by_word["In"]["start"] == 0.0 and by_word["Smith"]["start"] == 1.5 and by_word["well"]["start"] == 2.5
    assert by_word["2024"]["start"] >= 0.3 and by_word["2024"]["end"] <= 1.2  # heard as two words
    assert 1.8 <= by_word["slept"]["start"] <= by_word["slept"]["end"] <= 2.5  # missed: fills the gap
    for previous, current in zip(timings, timings[1:], strict=False):
        assert current["start"] >= previous["end"]
    assert matched == pytest.approx(3 / 6)


def test_a_failed_transcription_falls_back_to_labelled_estimates(tts, tmp_path):
    speech(tts, content=tone_wav(2.5))
    transcription(tts, 500, json=recorded("error_server.json"))

    track = OpenAIVoice().synthesize(None, TEXT, tmp_path)

    assert track.timings_source == "estimated"
    assert [t["word"] for t in track.timings] == TEXT.split()
    assert track.timings[-1]["end"] == pytest.approx(2.5, abs=0.001)
    assert "server had an error" in track.usage["transcription"]["error"]
    assert track.usage["cost_usd"] == pytest.approx(2.5 / 60 * 0.015)  # the speech is still paid for


def test_a_transcript_of_something_else_is_not_trusted(tts, tmp_path):
    speech(tts, content=tone_wav(2.5))
    transcription(tts, json=verbose(heard_words("Completely different words were heard in this audio clip")))

    track = OpenAIVoice().synthesize(None, TEXT, tmp_path)

    assert track.timings_source == "estimated"
    assert track.usage["transcription"]["matched"] < 0.6


def test_without_a_transcription_model_timings_are_estimated_without_a_call(tts, tmp_path, settings):
    settings.OPENAI_TRANSCRIBE_MODEL = ""
    speech(tts, content=tone_wav(2.5))
    route = transcription(tts, json=verbose(heard_words(TEXT)))

    track = OpenAIVoice().synthesize(None, TEXT, tmp_path)

    assert route.call_count == 0 and track.timings_source == "estimated"
    assert track.usage["transcription"] == {"skipped": "OPENAI_TRANSCRIBE_MODEL is empty"}


@pytest.mark.parametrize("model,cost,note", [
    ("tts-1", len(TEXT) * 15 / 1e6, None),
    ("tts-1-hd-2025-01-01", len(TEXT) * 30 / 1e6, None),
    ("kokoro-local", None, "no price known for speech model 'kokoro-local'"),
])
def test_speech_is_priced_by_its_own_model_or_as_unknown(tts, tmp_path, settings, model, cost, note):
    settings.OPENAI_TTS_MODEL = model
    speech(tts, content=tone_wav(2.5))

    usage = OpenAIVoice().synthesize(None, TEXT, tmp_path).usage

    assert usage["model"] == model
    assert usage["cost_usd"] == (pytest.approx(cost) if cost is not None else None)
    assert usage.get("cost_note") == note


def test_a_streamed_wav_header_with_placeholder_sizes_is_measured_from_its_frames(tts, tmp_path):
    speech(tts, content=tone_wav(1.5, bogus_length=True))

    track = OpenAIVoice().synthesize(None, TEXT, tmp_path)

    assert track.duration == pytest.approx(1.5, abs=0.001)
    with wave.open(str(track.path)) as written:  # the header on disk is repaired
        assert written.getnframes() == 36_000


def test_narration_longer_than_the_input_limit_is_spoken_in_pieces_and_joined(tts, tmp_path):
    sentence = "This sentence is here to make a very long narration for the speech endpoint. "
    text = sentence * (MAX_INPUT_CHARS // len(sentence) + 5)
    route = speech(tts, content=tone_wav(1.0))

    transcription(tts, json=verbose(heard_words(text), duration=2.0))
    track = OpenAIVoice().synthesize(None, text, tmp_path)

    sent = [json.loads(call.request.content)["input"] for call in route.calls]
    assert len(sent) == 2 and all(len(piece) <= MAX_INPUT_CHARS for piece in sent)
    assert " ".join(sent) == " ".join(text.split())
    assert all(piece.endswith(".") for piece in sent)  # cut between sentences
    assert track.duration == pytest.approx(2.0, abs=0.001)


def test_split_text_cuts_an_overlong_sentence_between_words():
    pieces = split_text("word " * 50, limit=42)
    assert all(len(piece) <= 42 for piece in pieces)
    assert " ".join(pieces).split() == ["word"] * 50


def test_429_with_retry_after_is_rate_limited(tts, tmp_path):
    speech(tts, 429, json=recorded("error_rate_limit.json"), headers={"retry-after": "12"})

    with pytest.raises(RateLimited) as caught:
        OpenAIVoice().synthesize(None, TEXT, tmp_path)
    assert caught.value.retry_after == 12.0 and caught.value.provider == "tts"


def test_429_insufficient_quota_is_permanent(tts, tmp_path):
    speech(tts, 429, json=recorded("error_insufficient_quota.json"))

    with pytest.raises(PermanentError, match="quota exhausted") as caught:
        OpenAIVoice().synthesize(None, TEXT, tmp_path)
    assert not isinstance(caught.value, RateLimited)


def test_timeout_is_transient(tts, tmp_path):
    tts.post("/audio/speech").mock(side_effect=httpx.ReadTimeout("no answer"))

    with pytest.raises(TransientError, match="timed out"):
        OpenAIVoice().synthesize(None, TEXT, tmp_path)
    assert not (tmp_path / "voice.wav").exists()


def test_500_is_transient(tts, tmp_path):
    route = speech(tts, 500, json=recorded("error_server.json"))

    with pytest.raises(TransientError) as caught:
        OpenAIVoice().synthesize(None, TEXT, tmp_path)
    assert caught.value.status_code == 500 and route.call_count == 1


def test_400_is_permanent_with_the_providers_message(tts, tmp_path):
    speech(tts, 400, json=recorded("error_tts_input.json"))

    with pytest.raises(PermanentError, match="String should have at most 4096 characters") as caught:
        OpenAIVoice().synthesize(None, TEXT, tmp_path)
    assert caught.value.status_code == 400


def test_an_empty_audio_body_is_transient(tts, tmp_path):
    speech(tts, content=b"", headers={"content-type": "audio/wav"})

    with pytest.raises(TransientError, match="no audio"):
        OpenAIVoice().synthesize(None, TEXT, tmp_path)


def test_nothing_to_say_is_permanent_without_a_call(tts, tmp_path):
    route = speech(tts, content=tone_wav(1.0))

    with pytest.raises(PermanentError, match="nothing to narrate"):
        OpenAIVoice().synthesize(None, "   ", tmp_path)
    assert route.call_count == 0
