"""Beat spans on the voice's timeline, the visual query, and where the cover frame is."""

import pytest

from pipeline.media.timeline import MIN_SPAN, align, beat_spans, cover_timestamp, segment_words, visual_query
from pipeline.media.voice import estimate_word_timings

SCRIPT = {
    "hook": "Sleep is a skill.",
    "beats": [
        {"on_screen": "1. Dark room", "narration": "Keep the bedroom dark and cool."},
        {"on_screen": "2. Same time", "narration": "Go to bed at the same time every night."},
        {"on_screen": "3. No screens", "narration": "Put the phone away an hour before.", "visual_query": "phone"},
    ],
}


def timings_for(script: dict, seconds: float) -> list[dict]:
    words = [w for segment in segment_words(script) for w in segment]
    return estimate_word_timings(" ".join(words), seconds)


def test_the_hook_belongs_to_the_first_beat():
    assert segment_words(SCRIPT)[0][:4] == ["Sleep", "is", "a", "skill."]
    assert [len(s) for s in segment_words(SCRIPT)] == [10, 9, 7]


def test_spans_tile_the_whole_voice_and_cut_before_each_beats_first_word():
    timings = timings_for(SCRIPT, 12.0)
    spans = beat_spans(SCRIPT, timings, 12.0)

    assert [s.index for s in spans] == [0, 1, 2]
    assert spans[0].start == 0 and spans[-1].end == 12.0
    assert all(a.end == b.start for a, b in zip(spans, spans[1:], strict=False))
    # Beat 2 starts with "Go" (word 10), beat 3 with "Put" (word 19): each cut lies in the pause
    # between the last word of one beat and the first word of the next.
    for span, first in zip(spans[1:], (10, 19), strict=True):
        assert timings[first - 1]["end"] <= span.start <= timings[first]["start"]


def test_timings_that_differ_from_the_script_are_aligned():
    timings = timings_for(SCRIPT, 12.0)
    exact = beat_spans(SCRIPT, timings, 12.0)
    # An engine that merged two words and spelled one differently, and dropped the last word.
    changed = [dict(w) for w in timings]
    changed[2]["word"] = "uh"
    del changed[5]
    changed = changed[:-1]

    spans = beat_spans(SCRIPT, changed, 12.0)

    for got, want in zip(spans, exact, strict=True):
        assert got.start == pytest.approx(want.start, abs=0.6)


def test_align_interpolates_words_it_cannot_match():
    positions = align(["one", "two", "three", "four"], ["one", "2", "three", "four"])
    assert positions == [0.0, 1.0, 2.0, 3.0]
    assert align(["a", "b"], []) == [0.0, 0.0]


def test_without_timings_the_time_is_shared_by_words_spoken():
    spans = beat_spans(SCRIPT, [], 26.0)
    assert [round(s.duration, 2) for s in spans] == [10.0, 9.0, 7.0]


def test_a_beat_never_collapses_to_nothing():
    script = {"hook": "Hi.", "beats": [{"narration": "a"}, {"narration": "b"}, {"narration": "c " * 40}]}
    timings = timings_for(script, 20.0)
    spans = beat_spans(script, timings, 20.0)
    assert all(s.duration >= MIN_SPAN - 1e-9 for s in spans)
    assert spans[-1].end == 20.0


def test_visual_query_falls_back_to_the_on_screen_text_without_numbering():
    assert [visual_query(b) for b in SCRIPT["beats"]] == ["Dark room", "Same time", "phone"]
    assert visual_query({"on_screen": "x" * 200}) == "x" * 120


def test_cover_is_under_the_title_card_or_in_the_first_beat():
    spans = beat_spans(SCRIPT, timings_for(SCRIPT, 12.0), 12.0)
    assert cover_timestamp(spans, title_seconds=1.5, duration=12.0) == 0.75
    assert cover_timestamp(spans, title_seconds=None, duration=12.0) == pytest.approx(spans[0].end / 2, abs=0.01)
    assert cover_timestamp([], title_seconds=None, duration=0) == 0.0
