"""The offline voice end to end: scripts written for the voice's pace, voiced within ±10% of the target,
audible, and captioned at the times the words are spoken."""

import re
import time

import pytest

from phantoms.engine import runner
from pipeline.media import render as render_module
from pipeline.media.ffmpeg import probe
from pipeline.media.voice import espeak
from pipeline.models import Asset
from pipeline.script_format import Script
from pipeline.stages import STAGES
from tests.factories import make_asset
from tests.media.helpers import loudness

pytestmark = pytest.mark.django_db(transaction=True)

BRIEFS = [
    "Three habits that make mornings easier",
    "Why cold brew tastes smoother than hot coffee",
    "A one-minute stretch for people who sit all day",
]


@pytest.fixture
def offline(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.RATE_LIMITS = {}
    settings.SCRIPT_PROVIDER, settings.VOICE_PROVIDER = "offline", "offline"
    return settings


def script_and_voice(brief: str, seconds: int) -> Asset:
    asset = make_asset(Asset.State.SCRIPTING, brief=brief, target_duration_seconds=seconds)
    assert runner.run(STAGES["script"], asset.pk) == "succeeded"
    assert runner.run(STAGES["voice"], asset.pk) == "succeeded"
    asset.refresh_from_db()
    return asset


def cue_starts(ass: str) -> list[float]:
    starts = []
    for line in ass.splitlines():
        match = re.match(r"Dialogue: 0,(\d+):(\d\d):(\d\d\.\d\d),", line)
        if match:
            hours, minutes, seconds = match.groups()
            starts.append(int(hours) * 3600 + int(minutes) * 60 + float(seconds))
    return starts


@pytest.mark.parametrize("seconds", [15, 30, 60])
@pytest.mark.parametrize("brief", BRIEFS)
def test_the_voiced_length_lands_within_ten_percent_of_the_target(offline, brief, seconds):
    asset = script_and_voice(brief, seconds)

    assert asset.state == Asset.State.VISUALIZING, asset.last_error  # the voice hands over to the visuals
    assert asset.audio_duration == pytest.approx(seconds, rel=0.10)
    assert probe(asset.audio.path).duration == pytest.approx(asset.audio_duration, abs=0.05)
    assert asset.voice_provider == "offline:espeak-ng/en-us"
    assert asset.word_timings_source == "engine"
    words = Script.model_validate(asset.script).narration_text().split()
    assert [timing["word"] for timing in asset.word_timings] == words
    usage = asset.usage["script"]
    assert usage["words"] == len(words) and usage["words"] <= usage["word_budget"] * 1.05


def test_a_thirty_second_voice_is_audible_and_quick(offline):
    started = time.perf_counter()
    asset = script_and_voice(BRIEFS[0], 30)
    elapsed = time.perf_counter() - started

    integrated, mean = loudness(asset.audio.path)
    assert integrated > -30 and mean > -35, (integrated, mean)
    assert elapsed < 10  # script and voice stages together, database and all


def test_the_rendered_video_follows_the_voice_and_its_captions_the_word_events(offline, monkeypatch):
    documents = []
    original = render_module.write_ass

    def keep(path, timings, **kwargs):
        written = original(path, timings, **kwargs)
        documents.append(written.read_text(encoding="utf-8"))
        return written

    monkeypatch.setattr(render_module, "write_ass", keep)
    asset = script_and_voice(BRIEFS[2], 15)
    assert runner.run(STAGES["visuals"], asset.pk) == "succeeded"
    assert runner.run(STAGES["render"], asset.pk) == "succeeded"
    asset.refresh_from_db()

    video = probe(asset.video.path)
    assert video.duration == pytest.approx(15, rel=0.10)
    assert asset.audio_duration - 0.05 <= video.duration <= asset.audio_duration + 0.5
    assert loudness(asset.video.path)[0] > -30  # the voice is in the video, not only in the WAV

    # The engine's own word events for the same text at the same rate, against the render's cues.
    text = " ".join(timing["word"] for timing in asset.word_timings)
    speech = espeak().synthesize(text, rate=asset.usage["voice"]["rate_wpm"])
    events = [millis / 1000 for _, millis in speech.word_events]
    [ass] = documents
    cues = cue_starts(ass)
    # Every word the engine announces is highlighted within 150 ms of when it is heard ...
    first_events = sorted(set(events))
    for event in first_events:
        assert min(abs(cue - event) for cue in cues) <= 0.15, event
    # ... and the highlights are those moments (a word spoken inside its neighbour's event, such as
    # "one" in "this one", takes a share of that neighbour's time and is the only exception).
    near = sum(min(abs(cue - event) for event in events) <= 0.15 for cue in cues)
    assert near >= 0.9 * len(cues)
