import array
import re
import time
import wave

import pytest

from phantoms.resilience.errors import ConfigurationError, PermanentError
from pipeline.media import voice as voice_module
from pipeline.media.captions import build_ass
from pipeline.media.voice import (
    TIMINGS_ENGINE,
    VoiceTrack,
    audio_duration,
    espeak,
    estimate_word_timings,
    measured_words_per_second,
    speak_espeak,
    synthesize_offline,
    wav_duration,
)

from .helpers import loudness, make_tone

TEXT = "Octopuses have three hearts. Each one pumps blue blood, and they taste with their arms!"


def read_samples(path) -> tuple[array.array, int]:
    with wave.open(str(path), "rb") as wav:
        samples = array.array("h", wav.readframes(wav.getnframes()))
        return samples, wav.getframerate()


def peak(samples, rate, start, end) -> int:
    chunk = samples[int(start * rate):int(end * rate)]
    return max((abs(s) for s in chunk), default=0)


def test_the_offline_voice_is_audible(tmp_path):
    track = synthesize_offline(TEXT, tmp_path / "v.wav")

    assert track.engine == "espeak-ng/en-us"
    integrated, mean = loudness(track.path)
    assert integrated > -30, "speech, not silence (silence measures -70 LUFS or below)"
    assert mean > -35
    assert track.duration == pytest.approx(wav_duration(track.path), abs=0.001)


def test_word_timings_are_the_engines_word_events(tmp_path):
    track = synthesize_offline(TEXT, tmp_path / "v.wav")
    speech, _ = speak_espeak(" ".join(TEXT.split()))

    assert track.timings_source == TIMINGS_ENGINE
    assert [t["word"] for t in track.timings] == TEXT.split()
    # Every word of this text gets its own event, so each start is exactly one of them.
    event_starts = [millis / 1000 for _, millis in speech.word_events]
    assert [t["start"] for t in track.timings] == pytest.approx(event_starts, abs=0.02)
    for previous, current in zip(track.timings, track.timings[1:], strict=False):
        assert current["start"] >= previous["end"] >= previous["start"]


def test_word_timings_match_the_sound(tmp_path):
    track = synthesize_offline(TEXT, tmp_path / "v.wav")
    samples, rate = read_samples(track.path)

    for timing in track.timings:
        # Each word is heard within 100 ms of its start ...
        assert peak(samples, rate, timing["start"], timing["start"] + 0.1) > 1000, timing
    # ... and the pause after a sentence is silent: the word ends where its sound does.
    hearts = next(t for t in track.timings if t["word"] == "hearts.")
    following = track.timings[track.timings.index(hearts) + 1]
    assert following["start"] - hearts["end"] > 0.15
    assert peak(samples, rate, hearts["end"] + 0.02, following["start"] - 0.02) < 400


def test_caption_cues_start_within_150_ms_of_the_word_events(tmp_path):
    track = synthesize_offline(TEXT, tmp_path / "v.wav")
    speech, _ = speak_espeak(" ".join(TEXT.split()))
    events = [millis / 1000 for _, millis in speech.word_events]

    ass = build_ass(track.timings, duration=track.duration, highlight="word")
    cues = []
    for line in ass.splitlines():
        match = re.match(r"Dialogue: 0,(\d+):(\d\d):(\d\d\.\d\d),", line)
        if match:
            hours, minutes, seconds = match.groups()
            cues.append(int(hours) * 3600 + int(minutes) * 60 + float(seconds))
    assert len(cues) == len(TEXT.split())  # one highlight per spoken word
    for cue, event in zip(cues, events, strict=True):
        assert abs(cue - event) <= 0.15


def test_numbers_and_dashes_keep_one_timing_per_written_word(tmp_path):
    text = "It’s 2024 — a well-known café opened."
    track = synthesize_offline(text, tmp_path / "v.wav")

    assert [t["word"] for t in track.timings] == text.split()
    number = track.timings[1]
    assert number["end"] - number["start"] > 1.0  # "two thousand twenty-four" is several spoken words
    dash = track.timings[2]
    assert dash["start"] >= number["end"]


@pytest.mark.parametrize("target", [10.0, 14.0])
def test_the_rate_bends_to_land_on_a_target(tmp_path, target):
    text = f"{TEXT} {TEXT}"
    natural = synthesize_offline(text, tmp_path / "n.wav").duration
    track = synthesize_offline(text, tmp_path / "v.wav", target_seconds=target)

    assert natural == pytest.approx(12.0, abs=1.0)  # the premise: the text runs about twelve seconds
    assert track.duration == pytest.approx(target, rel=0.04)
    assert track.usage["rate_wpm"] != voice_module.NATURAL_RATE


def test_the_rate_only_bends_so_far(tmp_path):
    track = synthesize_offline("Hello there.", tmp_path / "v.wav", target_seconds=30)
    assert track.duration < 5  # a two-word script cannot be stretched into thirty seconds
    assert track.usage["rate_wpm"] == round(voice_module.NATURAL_RATE * voice_module.MIN_RATE_FACTOR)


def test_the_voice_pace_is_measured():
    pace = measured_words_per_second()
    assert 2.0 < pace < 4.5
    speech = espeak().synthesize(voice_module.CALIBRATION_TEXT)
    assert pace == pytest.approx(len(voice_module.CALIBRATION_TEXT.split()) / speech.duration, rel=0.01)


def test_voicing_thirty_seconds_is_fast(tmp_path):
    text = " ".join([TEXT] * 6)
    started = time.perf_counter()
    track = synthesize_offline(text, tmp_path / "v.wav", target_seconds=30)
    elapsed = time.perf_counter() - started
    assert track.duration == pytest.approx(30, rel=0.04)
    assert elapsed < 2.0


def test_without_an_engine_narration_is_a_configuration_error_not_silence(tmp_path, monkeypatch):
    def missing():
        raise ConfigurationError("no eSpeak NG: install the espeakng-loader package", provider="espeak-ng")

    monkeypatch.setattr(voice_module, "espeak", missing)
    with pytest.raises(ConfigurationError, match="espeakng-loader"):
        synthesize_offline(TEXT, tmp_path / "v.wav")
    assert not (tmp_path / "v.wav").exists()


def test_a_library_that_will_not_load_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="cannot load the eSpeak NG library"):
        voice_module.Espeak(str(tmp_path / "libespeak-ng.so"), None)


def test_an_unknown_voice_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="no voice named 'xx-nowhere'"):
        synthesize_offline(TEXT, tmp_path / "v.wav", voice="xx-nowhere")


def test_nothing_to_narrate_is_permanent(tmp_path):
    with pytest.raises(PermanentError, match="nothing to narrate"):
        synthesize_offline("   ", tmp_path / "v.wav")


def test_silence_is_chosen_explicitly_and_follows_word_count_and_rate(tmp_path):
    track = synthesize_offline(TEXT, tmp_path / "v.wav", engine="silence", words_per_second=2.6)
    words = len(TEXT.split())
    assert track.engine == "silence" and track.timings_source == "estimated"
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


def test_unknown_engine_is_rejected(tmp_path):
    with pytest.raises(ConfigurationError, match="unknown offline voice engine"):
        synthesize_offline(TEXT, tmp_path / "v.wav", engine="polly")


def test_estimated_word_timings_are_monotonic_and_cover_the_duration():
    timings = estimate_word_timings(TEXT, 10.0)
    assert [t["word"] for t in timings] == TEXT.split()
    assert timings[0]["start"] == 0.0
    assert timings[-1]["end"] == pytest.approx(10.0)
    for previous, current in zip(timings, timings[1:], strict=False):
        assert current["start"] >= previous["end"]
    for timing in timings:
        assert timing["end"] > timing["start"]


def test_estimated_word_timings_weight_length_and_pause_after_punctuation():
    timings = estimate_word_timings("a extraordinary word. next", 5.0)
    short, long_word, sentence_end, after = timings
    assert long_word["end"] - long_word["start"] > 3 * (short["end"] - short["start"])
    assert after["start"] - sentence_end["end"] > 0.2
    assert long_word["start"] == pytest.approx(short["end"])


def test_estimated_word_timings_of_nothing():
    assert estimate_word_timings("", 3.0) == []
    assert estimate_word_timings("words here", 0) == []


def test_audio_duration_probes_non_wav(tmp_path):
    tone = make_tone(tmp_path / "tone.mp3", seconds=2.0)
    assert audio_duration(tone) == pytest.approx(2.0, abs=0.1)


def test_voice_track_round_trips_through_a_dict(tmp_path):
    track = synthesize_offline("one two three", tmp_path / "v.wav")
    again = VoiceTrack.from_dict(track.to_dict())
    assert again == track
