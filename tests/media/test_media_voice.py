import wave

import pytest

from phantoms.resilience.errors import ConfigurationError
from pipeline.media import voice as voice_module
from pipeline.media.voice import (
    VoiceTrack,
    audio_duration,
    estimate_word_timings,
    synthesize_offline,
    wav_duration,
)

from .helpers import make_tone

TEXT = "Octopuses have three hearts. Each one pumps blue blood, and they taste with their arms!"


def test_silence_length_follows_word_count_and_rate(tmp_path):
    track = synthesize_offline(TEXT, tmp_path / "v.wav", engine="silence", words_per_second=2.6)
    words = len(TEXT.split())
    assert track.engine == "silence"
    assert track.duration == pytest.approx(words / 2.6, abs=0.001)
    assert wav_duration(track.path) == pytest.approx(track.duration, abs=0.001)
    with wave.open(str(track.path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        assert set(wav.readframes(wav.getnframes())) == {0}
    assert [t["word"] for t in track.timings] == TEXT.split()


def test_silence_has_a_one_second_floor(tmp_path):
    track = synthesize_offline("Hi", tmp_path / "v.wav", engine="silence")
    assert track.duration == pytest.approx(1.0, abs=0.001)
    empty = synthesize_offline("   ", tmp_path / "e.wav", engine="silence")
    assert empty.duration == pytest.approx(1.0, abs=0.001)
    assert empty.timings == []


def test_auto_falls_back_to_silence_without_espeak(tmp_path, monkeypatch):
    monkeypatch.setattr(voice_module.shutil, "which", lambda name: None)
    track = synthesize_offline(TEXT, tmp_path / "v.wav")
    assert track.engine == "silence"


def test_explicit_espeak_without_espeak_is_a_configuration_error(tmp_path, monkeypatch):
    monkeypatch.setattr(voice_module.shutil, "which", lambda name: None)
    with pytest.raises(ConfigurationError, match="espeak-ng"):
        synthesize_offline(TEXT, tmp_path / "v.wav", engine="espeak-ng")


def test_unknown_engine_is_rejected(tmp_path):
    with pytest.raises(ConfigurationError, match="unknown offline voice engine"):
        synthesize_offline(TEXT, tmp_path / "v.wav", engine="polly")


@pytest.mark.skipif(not voice_module.espeak_available(), reason="espeak-ng is not installed")
def test_espeak_track_is_measured(tmp_path):
    track = synthesize_offline(TEXT, tmp_path / "v.wav", engine="espeak-ng")
    assert track.engine == "espeak-ng"
    assert track.duration == pytest.approx(wav_duration(track.path), abs=0.001)
    assert 1.5 < track.duration < 20
    assert track.timings[-1]["end"] == pytest.approx(track.duration, abs=0.001)


def test_word_timings_are_monotonic_and_cover_the_duration():
    timings = estimate_word_timings(TEXT, 10.0)
    assert [t["word"] for t in timings] == TEXT.split()
    assert timings[0]["start"] == 0.0
    assert timings[-1]["end"] == pytest.approx(10.0)
    for previous, current in zip(timings, timings[1:], strict=False):
        assert current["start"] >= previous["end"]
    for timing in timings:
        assert timing["end"] > timing["start"]


def test_word_timings_weight_length_and_pause_after_punctuation():
    timings = estimate_word_timings("a extraordinary word. next", 5.0)
    short, long_word, sentence_end, after = timings
    assert long_word["end"] - long_word["start"] > 3 * (short["end"] - short["start"])
    assert after["start"] - sentence_end["end"] > 0.2
    assert long_word["start"] == pytest.approx(short["end"])


def test_word_timings_of_nothing():
    assert estimate_word_timings("", 3.0) == []
    assert estimate_word_timings("words here", 0) == []


def test_audio_duration_probes_non_wav(tmp_path):
    tone = make_tone(tmp_path / "tone.mp3", seconds=2.0)
    assert audio_duration(tone) == pytest.approx(2.0, abs=0.1)


def test_voice_track_round_trips_through_a_dict(tmp_path):
    track = synthesize_offline("one two three", tmp_path / "v.wav", engine="silence")
    again = VoiceTrack.from_dict(track.to_dict())
    assert again == track
