"""Where each beat sits on the voice's timeline, and where the cover frame is.

The script's narration is the hook followed by each beat's narration; the voice's word timings say
when each of those words is spoken. A beat's span runs from the pause before its first word to the
pause before the next beat's first word (the first beat also covers the hook, the last runs to the
end of the audio), so the spans tile the whole video and every cut lands between two words.

Timings normally name the script's own words in order. When they do not (an engine that spells
"3" as "three", a transcription that merged two words), the script's words are aligned to the timed
words with difflib and the unmatched ones are placed by interpolation, so a beat boundary is never
far from where that beat's words are spoken.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

# A beat shorter than this would flash by; its neighbours give it time.
MIN_SPAN = 0.6
_NUMBERING = re.compile(r"^\s*(?:\d+|[ivx]+)[.):-]\s+", re.IGNORECASE)


def _norm(word: str) -> str:
    return re.sub(r"[^\w]", "", str(word).lower())


@dataclass(frozen=True)
class BeatSpan:
    index: int
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def segment_words(script: dict) -> list[list[str]]:
    """The words spoken for each beat; the hook belongs to the first beat."""
    beats = script.get("beats") or []
    if not beats:
        return []
    segments = [str(beat.get("narration", "")).split() for beat in beats]
    segments[0] = str(script.get("hook", "")).split() + segments[0]
    return segments


def align(script_words: list[str], timed_words: list[str]) -> list[float]:
    """For each script word, the (fractional) index of the timed word it was spoken as."""
    if not script_words:
        return []
    if not timed_words:
        return [0.0] * len(script_words)
    a, b = [_norm(w) for w in script_words], [_norm(w) for w in timed_words]
    if a == b:
        return [float(i) for i in range(len(a))]
    mapped: list[float | None] = [None] * len(a)
    for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        for offset in range(block.size):
            mapped[block.a + offset] = float(block.b + offset)
    # Unmatched words are placed between their matched neighbours (or spread over the ends).
    last = len(b) - 1
    known = [(i, value) for i, value in enumerate(mapped) if value is not None]
    if not known:
        scale = last / max(1, len(a) - 1)
        return [i * scale for i in range(len(a))]
    anchors = [(-1, -1.0)] + known + [(len(a), float(last) + 1)]
    for (i0, v0), (i1, v1) in zip(anchors, anchors[1:], strict=False):
        for i in range(i0 + 1, i1):
            mapped[i] = v0 + (v1 - v0) * (i - i0) / (i1 - i0)
    return [min(float(last), max(0.0, float(value))) for value in mapped]


def _time_at(timings: list[dict], position: float) -> float:
    """When the (fractional) timed word at `position` starts, cutting in the gap before it."""
    index = int(position)
    word = timings[index]
    start = float(word["start"])
    if position > index and index + 1 < len(timings):
        start += (float(timings[index + 1]["start"]) - start) * (position - index)
    elif index > 0 and position == index:
        # Cut halfway through the pause before the word, not on its first syllable.
        previous_end = float(timings[index - 1]["end"])
        if previous_end < start:
            start = (previous_end + start) / 2
    return start


def beat_spans(script: dict, timings: list[dict], duration: float) -> list[BeatSpan]:
    """Contiguous spans, one per beat, covering 0..duration."""
    segments = segment_words(script)
    if not segments or duration <= 0:
        return []
    words = [w for w in timings if str(w.get("word", "")).strip()]
    counts = [len(segment) for segment in segments]
    total = sum(counts)
    boundaries = [0.0]
    if words and total:
        positions = align([w for segment in segments for w in segment], [str(w["word"]) for w in words])
        first_word = 0
        for count in counts[:-1]:
            first_word += count
            if first_word >= total:
                boundaries.append(boundaries[-1])
                continue
            boundaries.append(_time_at(words, positions[first_word]))
    else:
        # No timings at all: share the time by how many words each beat speaks.
        spoken = 0
        for count in counts[:-1]:
            spoken += count
            boundaries.append(duration * spoken / max(1, total))
    boundaries.append(duration)
    return _spread(boundaries, duration)


def _spread(boundaries: list[float], duration: float) -> list[BeatSpan]:
    """Make boundaries increase by at least MIN_SPAN where the video is long enough for it."""
    count = len(boundaries) - 1
    floor = min(MIN_SPAN, duration / count)
    fixed = [0.0]
    for index in range(1, count):
        latest = duration - floor * (count - index)
        fixed.append(min(latest, max(fixed[-1] + floor, min(boundaries[index], duration))))
    fixed.append(duration)
    return [BeatSpan(i, round(fixed[i], 3), round(fixed[i + 1], 3)) for i in range(count)]


def visual_query(beat: dict) -> str:
    """What to look for behind a beat: its visual_query, else its on-screen text without numbering."""
    query = " ".join(str(beat.get("visual_query") or "").split())
    if not query:
        query = _NUMBERING.sub("", " ".join(str(beat.get("on_screen") or "").split()))
    return query[:120]


def cover_timestamp(spans: list[BeatSpan], *, title_seconds: float | None, duration: float) -> float:
    """The cover frame: with a title card, the moment it is fully shown over the first visual (what a
    thumbnail wants: the hook's title on the opening picture); without one, the middle of the first beat."""
    if duration <= 0:
        return 0.0
    if title_seconds:
        return round(min(duration, title_seconds) * 0.5, 3)
    if spans:
        return round((spans[0].start + spans[0].end) / 2, 3)
    return round(duration / 2, 3)
