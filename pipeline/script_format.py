"""The structured script every script writer produces, and how a script is held to its length.

The pydantic model is the contract between the script stage and everything after it: the voice
reads `narration_text()`, the renderer burns `caption_lines`, visuals search by each beat's
`visual_query`, publishing uses title, description and hashtags.
"""

import re

from pydantic import BaseModel, Field, field_validator


class Beat(BaseModel):
    on_screen: str = Field(min_length=1, max_length=120)
    narration: str = Field(min_length=1, max_length=600)
    visual_query: str = Field(default="", max_length=120)


class Script(BaseModel):
    title: str = Field(min_length=1, max_length=100)
    hook: str = Field(min_length=1, max_length=200)
    beats: list[Beat] = Field(min_length=1, max_length=12)
    caption_lines: list[str] = Field(min_length=1, max_length=40)
    description: str = Field(max_length=2000)
    hashtags: list[str] = Field(max_length=15)
    target_duration_seconds: int = Field(ge=5, le=180)

    @field_validator("hashtags")
    @classmethod
    def hashtags_are_tags(cls, tags: list[str]) -> list[str]:
        cleaned = []
        for tag in tags:
            tag = "#" + re.sub(r"[^\w]", "", tag.lstrip("#"))
            if len(tag) > 1:
                cleaned.append(tag)
        return cleaned

    @field_validator("caption_lines")
    @classmethod
    def captions_not_blank(cls, lines: list[str]) -> list[str]:
        lines = [line.strip() for line in lines if line.strip()]
        if not lines:
            raise ValueError("caption_lines must contain at least one non-blank line")
        return lines

    def narration_text(self) -> str:
        return " ".join([self.hook] + [beat.narration for beat in self.beats])


# A script may run this much over its word budget before it is cut: the voice absorbs the rest by
# speaking slightly faster.
OVERRUN_ALLOWANCE = 0.05
_SENTENCE = re.compile(r"(?<=[.!?…])\s+")


def word_budget(seconds: float, words_per_second: float) -> int:
    """How many narration words fill `seconds` at the voice's measured pace."""
    return max(3, round(seconds * words_per_second))


def word_count(script: Script) -> int:
    return len(script.narration_text().split())


def caption_chunks(text: str, words_per_line: int = 5) -> list[str]:
    words = text.split()
    return [" ".join(words[i:i + words_per_line]) for i in range(0, len(words), words_per_line)]


def _sentences(text: str) -> list[str]:
    return [part for part in _SENTENCE.split(" ".join(text.split())) if part]


def _trim_words(text: str, keep: int) -> str:
    words = text.split()[:max(1, keep)]
    cut = " ".join(words).rstrip(",;:—–-")
    return cut if cut.endswith((".", "!", "?", "…")) else cut + "."


def fit_to_budget(script: Script, max_words: int) -> tuple[Script, bool]:
    """The script cut to at most `max_words` spoken words (plus the overrun allowance), and whether it was cut.

    The hook and the last beat (the call to action) stay; sentences go from the end of the middle
    beats first, then whole middle beats, then words from the longest beat. Caption lines are
    rebuilt from the narration, because they must match what is spoken.
    """
    if word_count(script) <= max_words * (1 + OVERRUN_ALLOWANCE):
        return script, False
    beats = [list(_sentences(beat.narration)) for beat in script.beats]
    meta = [beat for beat in script.beats]

    def total() -> int:
        return len(script.hook.split()) + sum(len(" ".join(b).split()) for b in beats)

    # 1. Drop trailing sentences of the middle beats, longest beat first.
    while total() > max_words:
        middle = [i for i in range(len(beats) - 1) if len(beats[i]) > 1]
        if not middle:
            break
        longest = max(middle, key=lambda i: (len(" ".join(beats[i]).split()), -i))
        beats[longest].pop()
    # 2. Drop whole middle beats, from the end of the middle.
    while total() > max_words and len(beats) > 1:
        del beats[-2]
        del meta[-2]
    # 3. Cut words from the longest middle beat, then whole sentences from the last beat, whose final
    #    sentence (the call to action) stays.
    while total() > max_words:
        over = total() - max_words
        middle = [i for i in range(len(beats) - 1) if len(" ".join(beats[i]).split()) > 2]
        if middle:
            longest = max(middle, key=lambda i: len(" ".join(beats[i]).split()))
            text = " ".join(beats[longest])
            beats[longest] = [_trim_words(text, len(text.split()) - over)]
            continue
        *body, action = beats[-1]
        if not body:
            break  # only the hook and the call to action are left: the voice absorbs the rest
        beats[-1] = body[:-1] + [action]
    new_beats = [Beat(on_screen=beat.on_screen, narration=" ".join(sentences), visual_query=beat.visual_query)
                 for beat, sentences in zip(meta, beats, strict=True)]
    narration = " ".join([script.hook] + [beat.narration for beat in new_beats])
    return script.model_copy(update={"beats": new_beats, "caption_lines": caption_chunks(narration)}), True


def compose_template_script(brief: str, *, title: str = "", target_duration_seconds: int = 20,
                            words_per_second: float | None = None, notes: str = "") -> Script:
    """A complete script from a brief with no model at all (the offline writer): deterministic per brief."""
    from pipeline.providers.script.composer import compose

    return compose(brief, title=title, target_seconds=target_duration_seconds,
                   words_per_second=words_per_second, notes=notes)
