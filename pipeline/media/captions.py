"""ASS subtitles for burned-in, word-highlighted captions and the opening title card.

Geometry is expressed against a 1080x1920 reference and scaled to the real PlayRes, so the
same style works for other portrait sizes. Captions sit in the bottom-third safe area, clear of
the platform UI that covers the last ~15% of a vertical video and its right-hand button column.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

REFERENCE_HEIGHT = 1920
HIGHLIGHT_MODES = ("word", "karaoke")
# Lines whose words are further apart than this are split: a caption should not hang over a pause.
_MAX_GAP_IN_LINE = 0.6
# A line stays up through a short gap to the next one instead of blinking off and on.
_BRIDGE_GAP = 0.5
_HOLD_AFTER_LAST_WORD = 0.4
_HARD_MAX_WORDS = 8


@dataclass(frozen=True)
class CaptionStyle:
    font_family: str = "DejaVu Sans"
    font_size: int = 80
    title_size: int = 96
    # ASS colours are &HAABBGGRR with alpha 00 = opaque.
    text_colour: str = "&H00FFFFFF"
    highlight_colour: str = "&H0000E1FF"
    outline_colour: str = "&H00000000"
    shadow_colour: str = "&H96000000"
    outline: float = 6.0
    shadow: float = 0.0
    margin_v_ratio: float = 0.20
    margin_side_ratio: float = 0.08
    title_margin_ratio: float = 0.22


def ass_escape(text: str, *, newline: str = "\\N") -> str:
    r"""Make arbitrary text safe as the text field of an ASS event.

    Braces would open override blocks, so they become libass's `\{` `\}` escapes. ASS has no
    escape for a backslash itself, so a word joiner (invisible, zero width) is put after each
    one; that stops `\N`, `\h` or `\{` in the source from being read as commands. Newlines are
    turned into `newline` (a hard line break by default) because a raw one would end the event.
    """
    text = text.replace("\\", "\\\u2060")
    text = text.replace("{", "\\{").replace("}", "\\}")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", newline)
    return text


def ass_time(seconds: float) -> str:
    centiseconds = max(0, round(seconds * 100))
    hours, rest = divmod(centiseconds, 360_000)
    minutes, rest = divmod(rest, 6_000)
    secs, cs = divmod(rest, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{cs:02d}"


def _norm(word: str) -> str:
    return re.sub(r"[^\w]", "", word.lower())


def _balanced_split(group: list[dict], max_words: int) -> list[list[dict]]:
    if len(group) <= max(max_words, _HARD_MAX_WORDS):
        return [group]
    parts = -(-len(group) // max_words)
    size = -(-len(group) // parts)
    return [group[i:i + size] for i in range(0, len(group), size)]


def group_words(timings: list[dict], caption_lines: list[str] | None = None,
                max_words: int = 5) -> list[list[dict]]:
    """Split timed words into caption lines.

    The script's own caption_lines are followed when they contain exactly the spoken words
    (ignoring case and punctuation); otherwise lines are cut at `max_words`, after sentence
    ends, and at long pauses.
    """
    words = [w for w in timings if str(w.get("word", "")).strip()]
    if not words:
        return []
    if caption_lines:
        line_words = [line.split() for line in caption_lines if line.split()]
        flat = [_norm(w) for line in line_words for w in line]
        if flat == [_norm(str(w["word"])) for w in words]:
            groups, index = [], 0
            for line in line_words:
                groups.extend(_balanced_split(words[index:index + len(line)], max_words))
                index += len(line)
            return groups

    groups: list[list[dict]] = []
    current: list[dict] = []
    for position, word in enumerate(words):
        if current and float(word["start"]) - float(current[-1]["end"]) > _MAX_GAP_IN_LINE:
            groups.append(current)
            current = []
        current.append(word)
        text = str(word["word"]).rstrip("\"')]}»”’")
        remaining = len(words) - position - 1
        sentence_end = text.endswith((".", "!", "?", "…")) and len(current) >= 2
        # Avoid leaving a single orphan word for the final line.
        full = len(current) >= max_words and remaining != 1
        if full or sentence_end or len(current) > max_words:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def _header(width: int, height: int, style: CaptionStyle) -> str:
    scale = height / REFERENCE_HEIGHT
    margin_v = round(height * style.margin_v_ratio)
    margin_side = round(width * style.margin_side_ratio)
    title_margin = round(height * style.title_margin_ratio)
    size = round(style.font_size * scale)
    title_size = round(style.title_size * scale)
    outline = round(style.outline * scale, 1)
    shadow = round(style.shadow * scale, 1)
    family = style.font_family.replace(",", " ")
    fields = ("Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
              "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, "
              "Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding")
    # Karaoke fills from SecondaryColour to PrimaryColour, so Caption's secondary is the unspoken
    # colour and its primary is the highlight; the word mode overrides colours inline instead.
    caption = (f"Style: Caption,{family},{size},{style.highlight_colour},{style.text_colour},"
               f"{style.outline_colour},{style.shadow_colour},-1,0,0,0,100,100,0,0,1,{outline},{shadow},"
               f"2,{margin_side},{margin_side},{margin_v},1")
    plain = (f"Style: Plain,{family},{size},{style.text_colour},{style.text_colour},"
             f"{style.outline_colour},{style.shadow_colour},-1,0,0,0,100,100,0,0,1,{outline},{shadow},"
             f"2,{margin_side},{margin_side},{margin_v},1")
    title = (f"Style: Title,{family},{title_size},{style.text_colour},{style.text_colour},"
             f"{style.outline_colour},{style.shadow_colour},-1,0,0,0,100,100,0,0,1,"
             f"{round(outline * 1.3, 1)},{shadow},8,{margin_side},{margin_side},{title_margin},1")
    return "\n".join([
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {width}",
        f"PlayResY: {height}",
        "WrapStyle: 0",
        "ScaledBorderAndShadow: yes",
        "YCbCr Matrix: TV.709",
        "",
        "[V4+ Styles]",
        f"Format: {fields}",
        caption,
        plain,
        title,
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ])


def _override_colour(colour: str) -> str:
    """A style colour (&HAABBGGRR) as an inline \\1c value, which takes only &HBBGGRR&."""
    return f"&H{colour.upper().removeprefix('&H')[-6:]}&"


def _dialogue(layer: int, start: float, end: float, style: str, text: str) -> str:
    return f"Dialogue: {layer},{ass_time(start)},{ass_time(end)},{style},,0,0,0,,{text}"


def _line_spans(groups: list[list[dict]], duration: float | None) -> list[tuple[float, float]]:
    spans = []
    for index, group in enumerate(groups):
        start = float(group[0]["start"])
        end = float(group[-1]["end"]) + _HOLD_AFTER_LAST_WORD
        if index + 1 < len(groups):
            next_start = float(groups[index + 1][0]["start"])
            end = next_start if next_start - end < _BRIDGE_GAP else end
            end = min(end, next_start)
        if duration is not None:
            end = min(end, duration)
        spans.append((start, max(end, start + 0.05)))
    return spans


def build_ass(
    timings: list[dict],
    *,
    width: int = 1080,
    height: int = 1920,
    caption_lines: list[str] | None = None,
    title: str | None = None,
    title_seconds: float = 1.5,
    duration: float | None = None,
    max_words: int = 5,
    highlight: str = "word",
    style: CaptionStyle | None = None,
) -> str:
    """The whole .ass document for `timings` (word dicts with word/start/end in seconds).

    highlight="word" repaints the line once per word with the spoken word in the highlight
    colour; "karaoke" uses one event per line with `\\kf` fills, which libass sweeps smoothly.
    """
    if highlight not in HIGHLIGHT_MODES:
        raise ValueError(f"highlight must be one of {HIGHLIGHT_MODES}, not {highlight!r}")
    style = style or CaptionStyle()
    events = []
    if title and title.strip() and title_seconds > 0:
        title_end = min(title_seconds, duration) if duration else title_seconds
        events.append(_dialogue(1, 0.0, title_end, "Title",
                                "{\\fad(120,250)}" + ass_escape(" ".join(title.split()))))

    groups = group_words(timings, caption_lines, max_words)
    for group, (line_start, line_end) in zip(groups, _line_spans(groups, duration), strict=True):
        texts = [ass_escape(str(w["word"]), newline=" ") for w in group]
        if highlight == "karaoke":
            parts = []
            for index, word in enumerate(group):
                until = float(group[index + 1]["start"]) if index + 1 < len(group) else float(word["end"])
                begin = line_start if index == 0 else float(word["start"])
                parts.append(f"{{\\kf{max(1, round((until - begin) * 100))}}}{texts[index]}")
            events.append(_dialogue(0, line_start, line_end, "Caption", " ".join(parts)))
            continue
        for index in range(len(group)):
            start = line_start if index == 0 else float(group[index]["start"])
            end = float(group[index + 1]["start"]) if index + 1 < len(group) else line_end
            if end <= start:
                continue
            shown = list(texts)
            shown[index] = f"{{\\1c{_override_colour(style.highlight_colour)}}}{texts[index]}{{\\r}}"
            events.append(_dialogue(0, start, end, "Plain", " ".join(shown)))
    return _header(width, height, style) + "\n" + "\n".join(events) + "\n"


def write_ass(path: str | os.PathLike, timings: list[dict], **kwargs) -> Path:
    path = Path(path)
    path.write_text(build_ass(timings, **kwargs), encoding="utf-8")
    return path
