"""OpenAI text-to-speech against recorded protocol answers: real WAVs in, measured tracks out."""

import json
import wave

import httpx
import pytest

from phantoms.resilience.errors import PermanentError, RateLimited, TransientError
from pipeline.media.ffmpeg import probe
from pipeline.providers.voice.openai import MAX_INPUT_CHARS, OpenAIVoice, split_text
from tests.providers.conftest import recorded, tone_wav

TEXT = "Go to bed at the same time every night. Dim the lights an hour before."


@pytest.fixture
def tts(openai_api, settings):
    settings.OPENAI_TTS_MODEL = "gpt-4o-mini-tts"
    settings.OPENAI_TTS_VOICE = "coral"
    settings.OPENAI_TTS_SPEED = 1.25
    return openai_api


def speech(mock, status=200, **kwargs):
    return mock.post("/audio/speech").mock(return_value=httpx.Response(status, **kwargs))


def test_success_writes_a_real_wav_whose_duration_and_timings_match(tts, tmp_path):
    route = speech(tts, content=tone_wav(2.5), headers={"content-type": "audio/wav"})

    track = OpenAIVoice().synthesize(None, TEXT, tmp_path)

    assert track.path == tmp_path / "voice.wav" and track.path.is_file()
    assert track.duration == pytest.approx(2.5, abs=0.001)
    assert probe(track.path).duration == pytest.approx(2.5, abs=0.05)
    assert [t["word"] for t in track.timings] == TEXT.split()
    assert track.timings[0]["start"] == 0 and track.timings[-1]["end"] == pytest.approx(2.5, abs=0.001)
    assert track.engine == "gpt-4o-mini-tts/coral"
    sent = json.loads(route.calls.last.request.content)
    assert sent == {"model": "gpt-4o-mini-tts", "voice": "coral", "input": TEXT, "speed": 1.25,
                    "response_format": "wav"}
    assert not list(tmp_path.glob("*.part.wav"))


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
