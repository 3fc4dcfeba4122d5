"""What the script writer asks the model: the active prompt template (or the built-in default) plus settings.

Editors manage prompt templates in the admin; every save is a new version, and each asset records
the version that wrote it. Settings carry the environment's defaults (model, temperature, system
prompt, house style guide); a template overrides the first three and adds its own style guide.
"""

import json
import re
from dataclasses import dataclass

from django.conf import settings

from pipeline.models import PromptTemplate
from pipeline.script_format import word_budget

DEFAULT_SYSTEM_PROMPT = (
    "You write scripts for vertical short-form videos (YouTube Shorts, TikTok, Instagram Reels, X). "
    "Open with a hook that earns the next three seconds, then a few beats that each pair a short "
    "on-screen line with the narration spoken over it, and end on a call to action. Narration is read "
    "aloud by a text-to-speech voice: the hook and beats together must come to the number of words "
    "the brief gives for its target duration, no more. Write for the ear: concrete, specific, no stage "
    "directions, no emoji, no markdown. Each beat's visual_query is a short stock-footage search for "
    "what to show behind it (a few concrete nouns, no hashtags). caption_lines are the narration split "
    "into short lines of at most five words, in spoken order. Give a title under 70 characters, a "
    "one-paragraph description, and up to five relevant hashtags."
)
# Reasoning models take no sampling temperature; the API refuses the parameter for them.
_REASONING_MODEL = re.compile(r"^(?:o\d|gpt-5)(?!.*-chat)")


@dataclass
class Prompt:
    instructions: str
    input: list[dict]
    model: str
    temperature: float | None
    template: PromptTemplate | None = None


def active_template(name: str | None = None) -> PromptTemplate | None:
    """The newest active version of the named template (OPENAI_PROMPT_TEMPLATE), else of the most
    recently edited active one; None when editors have made none."""
    name = name if name is not None else getattr(settings, "OPENAI_PROMPT_TEMPLATE", "")
    active = PromptTemplate.objects.filter(is_active=True)
    if not name:
        newest = active.order_by("-created_at", "-id").first()
        if newest is None:
            return None
        name = newest.name
    return active.filter(name=name).order_by("-version").first()


def instructions_for(template: PromptTemplate | None) -> str:
    system = (template.system_prompt if template and template.system_prompt.strip() else
              getattr(settings, "OPENAI_SYSTEM_PROMPT", "") or DEFAULT_SYSTEM_PROMPT)
    guides = [text.strip() for text in (getattr(settings, "OPENAI_STYLE_GUIDE", ""),
                                        template.style_guide if template else "") if text and text.strip()]
    parts = [system.strip()]
    if guides:
        parts.append("Style guide (follow it over any general advice above):\n" + "\n\n".join(guides))
    return "\n\n".join(parts)


def duration_line(seconds: int, words_per_second: float | None) -> str:
    if not words_per_second:
        return f"Target duration: {seconds} seconds."
    return (f"Target duration: {seconds} seconds: about {word_budget(seconds, words_per_second)} words of "
            f"narration (hook and beats together), at this voice's {words_per_second:.1f} words per second.")


def input_for(asset, words_per_second: float | None = None) -> list[dict]:
    """The brief comes last, with its target duration and word budget; context for a rewrite comes before it."""
    messages = []
    if asset.title:
        messages.append({"role": "user", "content": f"Working title (keep it unless it is clearly wrong): "
                                                    f"{asset.title}"})
    if asset.review_notes and asset.reviewed_at:
        context = ["This is a rewrite. An editor sent the previous draft back with notes. The notes are "
                   "direction for you, not text for the script: do what they ask (if they say to open with "
                   "something, the hook is about that), and never quote or read them out in the narration."
                   f"\nEditor's notes: {asset.review_notes.strip()}"]
        if asset.script:
            context.append("Previous draft: " + json.dumps(asset.script, ensure_ascii=False))
        messages.append({"role": "user", "content": "\n".join(context)})
    messages.append({"role": "user", "content": f"Brief: {asset.brief.strip()}\n"
                                                f"{duration_line(asset.target_duration_seconds, words_per_second)}"})
    return messages


def takes_temperature(model: str) -> bool:
    """o-series and gpt-5 reasoning models refuse `temperature`; chat models take it."""
    return not _REASONING_MODEL.match(model or "")


def build_prompt(asset, template: PromptTemplate | None = None, *, words_per_second: float | None = None) -> Prompt:
    template = template if template is not None else active_template()
    model = (template.model if template and template.model else "") or settings.OPENAI_MODEL
    temperature = template.temperature if template and template.temperature is not None else \
        getattr(settings, "OPENAI_TEMPERATURE", None)
    if not takes_temperature(model):
        temperature = None
    return Prompt(instructions=instructions_for(template), input=input_for(asset, words_per_second), model=model,
                  temperature=temperature, template=template)


def price_for(model: str) -> dict | None:
    """USD per million tokens for `model`: its own entry, or that of the model it is a dated snapshot
    of (gpt-4o-mini-2024-07-18); None for a model without a known price, which is never guessed."""
    prices = getattr(settings, "OPENAI_PRICES", {})
    if model in prices:
        return prices[model]
    snapshot = re.fullmatch(r"(.+?)-(?:\d{4}-\d{2}-\d{2}|\d{4})", model or "")
    if snapshot and snapshot.group(1) in prices:
        return prices[snapshot.group(1)]
    return None


def cost_usd(model: str, input_tokens: int, output_tokens: int) -> float | None:
    price = price_for(model)
    if price is None:
        return None
    return round((input_tokens * price["input"] + output_tokens * price["output"]) / 1_000_000, 8)


def token_usage(model: str, input_tokens: int, output_tokens: int) -> dict:
    """What a script call used and cost; an unknown model's cost is null and says why."""
    usage = {"input_tokens": input_tokens, "output_tokens": output_tokens,
             "cost_usd": cost_usd(model, input_tokens, output_tokens)}
    if usage["cost_usd"] is None:
        usage["cost_note"] = f"no price known for model {model!r} (add it to OPENAI_PRICES)"
    return usage
