"""The structured script every script writer produces, and the template writer behind the offline one.

The pydantic model is the contract between the script stage and everything after it: the voice
reads `narration_text()`, the renderer burns `caption_lines`, publishing uses title, description
and hashtags.
"""

import hashlib
import re

from pydantic import BaseModel, Field, field_validator


class Beat(BaseModel):
    on_screen: str = Field(min_length=1, max_length=120)
    narration: str = Field(min_length=1, max_length=600)


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


_STOPWORDS = frozenset(
    "a an and are as at be by for from how in is it of on or that the this to with why what your you".split()
)


def _keywords(brief: str, limit: int = 4) -> list[str]:
    words = [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9]+", brief)]
    seen: list[str] = []
    for word in words:
        if word not in _STOPWORDS and word not in seen and len(word) > 2:
            seen.append(word)
    return seen[:limit] or ["story"]


def _caption_chunks(text: str, words_per_line: int = 5) -> list[str]:
    words = text.split()
    return [" ".join(words[i:i + words_per_line]) for i in range(0, len(words), words_per_line)]


def compose_template_script(brief: str, *, title: str = "", target_duration_seconds: int = 20) -> Script:
    """Write a complete script from a brief with no model at all: deterministic for a given brief."""
    brief = " ".join(brief.split())
    topic = brief.rstrip(".!?") or "Something worth a minute"
    keywords = _keywords(brief)
    variant = int(hashlib.sha256(brief.encode()).hexdigest(), 16)
    hooks = [
        f"Here is what nobody tells you about {keywords[0]}.",
        f"Stop scrolling: {keywords[0]} in {target_duration_seconds} seconds.",
        f"You have been doing {keywords[0]} wrong.",
    ]
    hook = hooks[variant % len(hooks)]
    beat_count = max(2, min(5, target_duration_seconds // 6))
    beats = []
    for index in range(beat_count):
        keyword = keywords[index % len(keywords)]
        beats.append(Beat(
            on_screen=f"{index + 1}. {keyword.capitalize()}",
            narration=f"Point {index + 1}: {topic[:160]} comes down to {keyword}, so start there.",
        ))
    closing = "Follow for part two."
    beats[-1] = Beat(on_screen=beats[-1].on_screen, narration=beats[-1].narration + " " + closing)
    narration = " ".join([hook] + [b.narration for b in beats])
    return Script(
        title=(title or topic)[:100],
        hook=hook,
        beats=beats,
        caption_lines=_caption_chunks(narration),
        description=f"{topic}. {closing}"[:2000],
        hashtags=[f"#{k}" for k in keywords] + ["#shorts"],
        target_duration_seconds=target_duration_seconds,
    )
