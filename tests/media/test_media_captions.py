import re

import pytest

from pipeline.media.captions import ass_escape, ass_time, build_ass, group_words
from pipeline.media.voice import estimate_word_timings

TEXT = "Octopuses have three hearts. Each one pumps blue blood, and they taste with their arms!"


def events(ass: str) -> list[list[str]]:
    rows = []
    for line in ass.splitlines():
        if line.startswith("Dialogue: "):
            rows.append(line[len("Dialogue: "):].split(",", 9))
    return rows


def style(ass: str, name: str) -> list[str]:
    line = next(line for line in ass.splitlines() if line.startswith(f"Style: {name},"))
    return line[len("Style: "):].split(",")


def test_header_uses_portrait_playres_and_bottom_third_safe_area():
    ass = build_ass(estimate_word_timings(TEXT, 6.0))
    assert "PlayResX: 1080" in ass and "PlayResY: 1920" in ass
    plain = style(ass, "Plain")
    alignment, margin_l, margin_r, margin_v = plain[18:22]
    assert alignment == "2"  # bottom centre
    assert int(margin_v) == pytest.approx(0.20 * 1920, abs=2)
    assert int(margin_l) == int(margin_r) == pytest.approx(0.08 * 1080, abs=2)
    assert plain[7] == "-1"  # bold
    assert float(plain[16]) >= 4  # outline


def test_word_mode_highlights_each_word_once_in_order():
    timings = estimate_word_timings(TEXT, 6.0)
    rows = [row for row in events(build_ass(timings)) if row[3] == "Plain"]
    assert len(rows) == len(timings)
    highlighted = [re.search(r"\{\\1c&H[0-9A-F]{6}&\}(.*?)\{\\r\}", row[9]).group(1) for row in rows]
    assert highlighted == TEXT.split()
    starts = [row[1] for row in rows]
    assert starts == sorted(starts)
    assert rows[0][1] == "0:00:00.00"


def test_karaoke_mode_uses_kf_tags_per_word():
    timings = estimate_word_timings(TEXT, 6.0)
    rows = [row for row in events(build_ass(timings, highlight="karaoke")) if row[3] == "Caption"]
    tags = [int(t) for row in rows for t in re.findall(r"\{\\kf(\d+)\}", row[9])]
    assert len(tags) == len(timings)
    assert sum(tags) == pytest.approx(600, abs=len(rows) * 50)


def test_lines_hold_at_most_five_words_by_default():
    timings = estimate_word_timings(" ".join(f"word{i}" for i in range(23)), 8.0)
    groups = group_words(timings)
    assert max(len(g) for g in groups) <= 5
    assert min(len(g) for g in groups) >= 2  # no orphan word left for the last line
    assert [w for g in groups for w in g] == timings


def test_script_caption_lines_set_the_boundaries_when_they_match():
    timings = estimate_word_timings(TEXT, 6.0)
    lines = ["Octopuses have", "three hearts. Each one pumps", "blue blood, and they", "taste with their arms!"]
    groups = group_words(timings, caption_lines=lines)
    assert [" ".join(w["word"] for w in g) for g in groups] == lines
    # Captions that do not match the narration are ignored rather than mis-timed.
    assert group_words(timings, caption_lines=["Something else entirely"]) == group_words(timings)


def test_title_card_is_centred_in_the_upper_third_for_the_opening():
    ass = build_ass(estimate_word_timings(TEXT, 6.0), title="Three hearts, blue blood")
    title_rows = [row for row in events(ass) if row[3] == "Title"]
    assert len(title_rows) == 1
    assert title_rows[0][1:3] == ["0:00:00.00", "0:00:01.50"]
    assert title_rows[0][9].endswith("Three hearts, blue blood")
    title_style = style(ass, "Title")
    assert title_style[18] == "8"  # top centre
    assert int(title_style[21]) < 1920 / 3


def test_no_title_event_without_a_title():
    ass = build_ass(estimate_word_timings(TEXT, 6.0), title="  ")
    assert all(row[3] != "Title" for row in events(ass))


def test_escaping_neutralises_override_blocks_backslashes_and_newlines():
    escaped = ass_escape("a {\\b1} b\\N c\nd")
    assert "{" not in escaped.replace("\\{", "")
    assert "}" not in escaped.replace("\\}", "")
    assert "\\N c" not in escaped  # the source's \N is no longer a line break
    assert escaped.endswith("c\\Nd")  # the real newline became one
    assert "\n" not in escaped


def test_user_text_cannot_inject_tags_or_break_events():
    title = "Evil {\\pos(0,0)\\c&H0000FF&} title\nsecond line"
    timings = [{"word": "{\\fs200}big", "start": 0.0, "end": 1.0},
               {"word": "end", "start": 1.0, "end": 2.0}]
    ass = build_ass(timings, title=title)
    dialogue_lines = [line for line in ass.splitlines() if line.startswith("Dialogue:")]
    assert len(dialogue_lines) == 3  # title + one event per word; the newline did not split an event
    for line in dialogue_lines:
        text = line.split(",", 9)[9]
        blocks = re.findall(r"(?<!\\)\{(.*?)(?<!\\)\}", text)
        for block in blocks:
            assert "pos" not in block and "fs200" not in block


def test_ass_time_formats_centiseconds():
    assert ass_time(0) == "0:00:00.00"
    assert ass_time(61.234) == "0:01:01.23"
    assert ass_time(3723.456) == "1:02:03.46"


def test_unknown_highlight_mode_is_rejected():
    with pytest.raises(ValueError):
        build_ass([], highlight="bounce")
