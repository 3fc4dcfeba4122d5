"""What the script writer asks the model: the active prompt template (or the built-in default) plus settings.

Editors manage prompt templates in the admin; every save is a new version, and each asset records
the version that wrote it. Settings carry the environment's defaults (model, temperature, system
prompt, house style guide); a template overrides the first three and adds its own style guide.
"""

import json
from dataclasses import dataclass

from django.conf import settings

from pipeline.models import PromptTemplate

DEFAULT_SYSTEM_PROMPT = (
    "You write scripts for vertical short-form videos (YouTube Shorts, TikTok, Instagram Reels, X). "
    "Open with a hook that earns the next three seconds, then a few beats that each pair a short "
    "on-screen line with the narration spoken over it. Narration is read aloud by a text-to-speech "
    "voice at about 150 words a minute: size the hook and beats to the target duration, write for "
    "the ear, no stage directions, no emoji, no markdown. caption_lines are the narration split into "
    "short lines of at most five words, in spoken order. Give a title under 70 characters, a "
    "one-paragraph description, and up to five relevant hashtags."
)


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


def input_for(asset) -> list[dict]:
    """The brief comes last, with its target duration; context for a rewrite comes before it."""
    messages = []
    if asset.title:
        messages.append({"role": "user", "content": f"Working title (keep it unless it is clearly wrong): "
                                                    f"{asset.title}"})
    if asset.review_notes and asset.reviewed_at:
        context = ["This is a rewrite. An editor sent the previous draft back; the new script must "
                   f"address their notes.\nEditor's notes: {asset.review_notes.strip()}"]
        if asset.script:
            context.append("Previous draft: " + json.dumps(asset.script, ensure_ascii=False))
        messages.append({"role": "user", "content": "\n".join(context)})
    messages.append({"role": "user", "content": f"Brief: {asset.brief.strip()}\n"
                                                f"Target duration: {asset.target_duration_seconds} seconds."})
    return messages


def build_prompt(asset, template: PromptTemplate | None = None) -> Prompt:
    template = template if template is not None else active_template()
    model = (template.model if template and template.model else "") or settings.OPENAI_MODEL
    temperature = template.temperature if template and template.temperature is not None else \
        getattr(settings, "OPENAI_TEMPERATURE", None)
    return Prompt(instructions=instructions_for(template), input=input_for(asset), model=model,
                  temperature=temperature, template=template)


def price_for(model: str) -> dict:
    """USD per million tokens for `model`: an exact entry, else the longest prefix (dated snapshots
    such as gpt-4o-mini-2024-07-18), else the default model's prices."""
    prices = getattr(settings, "OPENAI_PRICES", {})
    if model in prices:
        return prices[model]
    matches = [name for name in prices if model.startswith(name)]
    if matches:
        return prices[max(matches, key=len)]
    default = getattr(settings, "OPENAI_DEFAULT_PRICE_MODEL", "gpt-4o-mini")
    return prices.get(default, {"input": 0.15, "output": 0.60})


def cost_usd(model: str, input_tokens: int, output_tokens: int) -> float:
    price = price_for(model)
    return round((input_tokens * price["input"] + output_tokens * price["output"]) / 1_000_000, 8)
