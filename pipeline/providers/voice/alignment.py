"""Word timings from a transcript, put back onto the words of the script that was spoken.

A recogniser writes what it hears, not what the script says: "2024" may come back as "twenty
twenty-four", "Dr." as "Doctor", a name misspelt, a word missed. The two word sequences are
aligned with difflib's longest-matching-blocks algorithm on normalised words; matched words take
the heard times, a run of script words that was heard differently shares the time of what was
heard in its place, and script words with nothing heard in their place share the gap between
their neighbours.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

# Below this share of script words found in the transcript, the audio is not the script (or the
# recogniser failed), and its times would put captions in the wrong places.
MIN_MATCHED = 0.6


def _norm(word: str) -> str:
    return re.sub(r"[^\w]", "", word.lower())


def _spread(words: list[str], start: float, end: float) -> list[dict]:
    """Share [start, end] among `words` by length."""
    end = max(end, start)
    weights = [len(word) + 1 for word in words]
    total = sum(weights)
    timings, cursor = [], start
    for word, weight in zip(words, weights, strict=True):
        step = (end - start) * weight / total
        timings.append({"word": word, "start": round(cursor, 3), "end": round(cursor + step, 3)})
        cursor += step
    return timings


def align_words(script_words: list[str], heard: list[dict], duration: float) -> tuple[list[dict], float]:
    """One timing per script word, from the heard words' times; and the share of script words matched."""
    if not script_words:
        return [], 1.0
    wanted = [_norm(word) for word in script_words]
    got = [_norm(str(word.get("word", ""))) for word in heard]
    matcher = SequenceMatcher(None, wanted, got, autojunk=False)
    timings: list[dict | None] = [None] * len(script_words)
    matched = 0
    pending: list[tuple[int, int]] = []  # script ranges heard as nothing: filled once neighbours are known
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for offset in range(i2 - i1):
                word = heard[j1 + offset]
                timings[i1 + offset] = {"word": script_words[i1 + offset], "start": round(float(word["start"]), 3),
                                        "end": round(float(word["end"]), 3)}
            matched += i2 - i1
        elif tag == "replace":
            span_start, span_end = float(heard[j1]["start"]), float(heard[j2 - 1]["end"])
            for offset, timing in enumerate(_spread(script_words[i1:i2], span_start, span_end)):
                timings[i1 + offset] = timing
        elif tag == "delete":
            pending.append((i1, i2))
    for i1, i2 in pending:
        before = next((timings[i]["end"] for i in range(i1 - 1, -1, -1) if timings[i]), 0.0)
        after = next((timings[i]["start"] for i in range(i2, len(timings)) if timings[i]), duration)
        for offset, timing in enumerate(_spread(script_words[i1:i2], before, max(before, after))):
            timings[i1 + offset] = timing
    # Recognisers occasionally overlap neighbouring words; captions need time to move forwards.
    result: list[dict] = []
    previous_end = 0.0
    for timing in timings:
        start = max(timing["start"], previous_end)
        end = min(max(timing["end"], start), duration) if duration else max(timing["end"], start)
        result.append({"word": timing["word"], "start": round(start, 3), "end": round(max(end, start), 3)})
        previous_end = result[-1]["end"]
    return result, matched / len(script_words)
