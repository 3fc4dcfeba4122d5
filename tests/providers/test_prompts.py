"""Which prompt the script writer sends, and what a call costs."""

import pytest

from pipeline.models import Asset, PromptTemplate
from pipeline.prompts import DEFAULT_SYSTEM_PROMPT, active_template, build_prompt, cost_usd, token_usage

pytestmark = pytest.mark.django_db


def test_without_templates_the_settings_and_built_in_prompt_are_used(settings):
    settings.OPENAI_SYSTEM_PROMPT = ""
    settings.OPENAI_STYLE_GUIDE = ""
    settings.OPENAI_MODEL = "gpt-4.1-nano"
    settings.OPENAI_TEMPERATURE = 0.4

    prompt = build_prompt(Asset(brief="Stretch at your desk", target_duration_seconds=30, team_id=1))

    assert prompt.template is None and prompt.model == "gpt-4.1-nano" and prompt.temperature == 0.4
    assert prompt.instructions == DEFAULT_SYSTEM_PROMPT
    assert prompt.input == [{"role": "user", "content": "Brief: Stretch at your desk\nTarget duration: 30 seconds."}]


def test_the_named_template_wins_and_its_newest_active_version_is_used(settings):
    PromptTemplate.objects.create(name="sports", version=1, system_prompt="v1")
    PromptTemplate.objects.create(name="sports", version=2, system_prompt="v2")
    PromptTemplate.objects.create(name="sports", version=3, system_prompt="v3 draft", is_active=False)
    PromptTemplate.objects.create(name="cooking", version=1, system_prompt="newest of all")

    assert active_template().name == "cooking"
    settings.OPENAI_PROMPT_TEMPLATE = "sports"
    assert active_template().system_prompt == "v2"
    settings.OPENAI_PROMPT_TEMPLATE = "nonexistent"
    assert active_template() is None


def test_a_template_without_model_or_temperature_falls_back_to_settings(settings):
    settings.OPENAI_MODEL = "gpt-4o-mini"
    settings.OPENAI_TEMPERATURE = 0.9
    template = PromptTemplate.objects.create(name="plain", system_prompt="  ", style_guide="Be brief.")

    prompt = build_prompt(Asset(brief="x", title="Working", target_duration_seconds=10, team_id=1), template)

    assert (prompt.model, prompt.temperature, prompt.template) == ("gpt-4o-mini", 0.9, template)
    assert prompt.instructions.startswith(DEFAULT_SYSTEM_PROMPT) and prompt.instructions.endswith("Be brief.")
    assert prompt.input[0]["content"].endswith("Working")


@pytest.mark.parametrize("model,expected", [
    ("gpt-4o-mini", 0.15 + 0.60),
    ("gpt-4o-2024-08-06", 2.50 + 10.00),
    ("gpt-4.1-mini-2025-04-14", 0.40 + 1.60),
    ("gpt-5-mini", 0.25 + 2.00),
    ("o4-mini-2025-04-16", 1.10 + 4.40),
])
def test_cost_uses_the_models_own_price_or_its_snapshots(model, expected):
    assert cost_usd(model, 1_000_000, 1_000_000) == pytest.approx(expected)


@pytest.mark.parametrize("model", ["llama3.1:8b", "gpt-4o-audio-preview", "qwen2.5-7b-instruct", "gpt-4o-mini-tts"])
def test_unknown_models_are_priced_as_unknown_not_as_another_model(model):
    assert cost_usd(model, 1_000_000, 1_000_000) is None
    usage = token_usage(model, 10, 20)
    assert usage["cost_usd"] is None and model in usage["cost_note"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (10, 20)


@pytest.mark.parametrize("model,takes", [
    ("gpt-4o-mini", True), ("gpt-4.1", True), ("o1", False), ("o3-mini", False), ("o4-mini-2025-04-16", False),
    ("gpt-5", False), ("gpt-5-mini", False), ("gpt-5-chat-latest", True), ("llama3.1:8b", True),
])
def test_reasoning_models_are_sent_no_temperature(settings, model, takes):
    settings.OPENAI_MODEL = model
    settings.OPENAI_TEMPERATURE = 0.7
    prompt = build_prompt(Asset(brief="x", target_duration_seconds=10))
    assert prompt.temperature == (0.7 if takes else None)


def test_the_prompt_gives_the_word_budget_of_the_voice():
    prompt = build_prompt(Asset(brief="Stretch at your desk", target_duration_seconds=30), words_per_second=3.2)
    assert prompt.input[-1]["content"] == (
        "Brief: Stretch at your desk\nTarget duration: 30 seconds: about 96 words of narration "
        "(hook and beats together), at this voice's 3.2 words per second.")


def test_editor_notes_are_given_as_direction_not_as_text():
    from django.utils import timezone

    asset = Asset(brief="Stretch at your desk", target_duration_seconds=30, review_notes="Open with posture.",
                  reviewed_at=timezone.now())
    context = build_prompt(asset).input[-2]["content"]
    assert "direction for you, not text for the script" in context and "never quote" in context
    assert context.endswith("Editor's notes: Open with posture.")
