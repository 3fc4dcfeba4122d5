"""The OpenAI script writer against recorded Responses API answers (respx replays them over httpx)."""

import json

import httpx
import pytest

from phantoms.engine import runner
from phantoms.resilience.errors import PermanentError, RateLimited, TransientError
from pipeline.models import Asset, PromptTemplate
from pipeline.providers.openai_client import InvalidOutput
from pipeline.providers.script.openai import OpenAIScriptWriter
from pipeline.script_format import Script
from pipeline.stages import STAGES
from tests.factories import make_asset
from tests.providers.conftest import recorded

pytestmark = pytest.mark.django_db


def scripting_asset(**kwargs):
    kwargs.setdefault("providers", {"script": "openai"})
    return make_asset(Asset.State.SCRIPTING, brief="Three tips for better sleep", **kwargs)


def answer(mock, status=200, body=None, headers=None, fixture=None):
    return mock.post("/responses").mock(
        return_value=httpx.Response(status, json=recorded(fixture) if fixture else body, headers=headers or {}))


def test_success_parses_the_script_and_records_model_usage_and_cost(openai_api):
    route = answer(openai_api, fixture="responses_success.json")
    asset = scripting_asset()

    result = OpenAIScriptWriter().write(asset)

    assert isinstance(result.script, Script)
    assert result.script.title == "Sleep better tonight" and len(result.script.beats) == 2
    assert result.model == "gpt-4o-mini-2024-07-18"  # the model that answered, not only the one asked
    assert result.usage["input_tokens"] == 412 and result.usage["output_tokens"] == 187
    # gpt-4o-mini prices through the dated snapshot's prefix: $0.15 / $0.60 per million tokens.
    assert result.usage["cost_usd"] == pytest.approx((412 * 0.15 + 187 * 0.60) / 1e6)
    assert result.template is None

    request = route.calls.last.request
    assert request.headers["authorization"] == "Bearer sk-test"
    sent = json.loads(request.content)
    assert sent["model"] == "gpt-4o-mini" and sent["temperature"] == 0.7
    assert sent["text"]["format"]["type"] == "json_schema" and sent["text"]["format"]["strict"] is True
    assert "beats" in sent["text"]["format"]["schema"]["properties"]
    assert sent["input"][-1]["content"] == "Brief: Three tips for better sleep\nTarget duration: 6 seconds."
    assert "short-form" in sent["instructions"]


def test_the_latest_version_of_the_active_template_sets_prompt_model_and_temperature(openai_api, settings):
    settings.OPENAI_STYLE_GUIDE = "House rule: never say 'hack'."
    PromptTemplate.objects.create(name="brand", version=1, system_prompt="Old prompt.", model="gpt-4o")
    latest = PromptTemplate.objects.create(name="brand", version=2, system_prompt="Write like a friendly coach.",
                                           style_guide="Second person, short sentences.", model="gpt-4.1-mini",
                                           temperature=0.2)
    PromptTemplate.objects.create(name="retired", version=9, system_prompt="Unused.", is_active=False)
    route = answer(openai_api, fixture="responses_success.json")

    result = OpenAIScriptWriter().write(scripting_asset())

    sent = json.loads(route.calls.last.request.content)
    assert sent["model"] == "gpt-4.1-mini" and sent["temperature"] == 0.2
    assert sent["instructions"].startswith("Write like a friendly coach.")
    assert "House rule: never say 'hack'." in sent["instructions"]
    assert "Second person, short sentences." in sent["instructions"]
    assert result.template == latest


def test_editor_notes_and_previous_draft_go_into_the_rewrite(openai_api):
    from django.utils import timezone

    route = answer(openai_api, fixture="responses_success.json")
    asset = scripting_asset(review_notes="Less jargon, punchier hook.", reviewed_at=timezone.now(),
                            script={"title": "Old draft"})

    OpenAIScriptWriter().write(asset)

    messages = json.loads(route.calls.last.request.content)["input"]
    context = messages[-2]["content"]
    assert "Less jargon, punchier hook." in context and "Old draft" in context
    assert messages[-1]["content"].startswith("Brief: Three tips for better sleep")


@pytest.mark.parametrize("fixture,expected", [
    ("responses_invalid.json", "invalid structured output: beats:"),
    ("responses_not_json.json", "invalid structured output:"),
    ("responses_empty.json", "empty output"),
])
def test_unusable_output_is_a_transient_failure_outside_the_breaker(openai_api, fixture, expected):
    answer(openai_api, fixture=fixture)

    with pytest.raises(InvalidOutput) as caught:
        OpenAIScriptWriter().write(scripting_asset())

    assert isinstance(caught.value, TransientError)
    assert caught.value.message.startswith(expected)
    assert caught.value.counts_toward_breaker is False


def test_a_refusal_is_permanent(openai_api):
    answer(openai_api, fixture="responses_refusal.json")

    with pytest.raises(PermanentError, match="refused: I can't help with that request"):
        OpenAIScriptWriter().write(scripting_asset())


@pytest.mark.parametrize("headers,wait", [({"retry-after": "7"}, 7.0), ({"retry-after-ms": "1500"}, 1.5),
                                          ({"x-ratelimit-reset-requests": "1m30s"}, 90.0)])
def test_429_is_rate_limited_for_as_long_as_the_provider_says(openai_api, headers, wait):
    route = answer(openai_api, 429, fixture="error_rate_limit.json", headers=headers)

    with pytest.raises(RateLimited) as caught:
        OpenAIScriptWriter().write(scripting_asset())

    assert caught.value.retry_after == pytest.approx(wait)
    assert "Rate limit reached" in caught.value.message
    assert route.call_count == 1  # the SDK does not retry behind the runner's back


def test_429_insufficient_quota_is_permanent(openai_api):
    answer(openai_api, 429, fixture="error_insufficient_quota.json", headers={"retry-after": "1"})

    with pytest.raises(PermanentError) as caught:
        OpenAIScriptWriter().write(scripting_asset())

    assert not isinstance(caught.value, RateLimited)
    assert "quota exhausted: You exceeded your current quota" in str(caught.value)
    assert caught.value.status_code == 429


def test_timeout_is_transient(openai_api, settings):
    settings.OPENAI_TIMEOUT = 0.5
    route = openai_api.post("/responses").mock(side_effect=httpx.ReadTimeout("no answer"))

    with pytest.raises(TransientError, match="timed out"):
        OpenAIScriptWriter().write(scripting_asset())
    assert route.call_count == 1


def test_connection_error_is_transient(openai_api):
    openai_api.post("/responses").mock(side_effect=httpx.ConnectError("connection refused"))

    with pytest.raises(TransientError, match="could not reach the API"):
        OpenAIScriptWriter().write(scripting_asset())


def test_500_is_transient_and_tried_once(openai_api):
    route = answer(openai_api, 500, fixture="error_server.json")

    with pytest.raises(TransientError) as caught:
        OpenAIScriptWriter().write(scripting_asset())

    assert caught.value.status_code == 500 and "server had an error" in caught.value.message
    assert route.call_count == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_permanent_with_the_providers_message(openai_api, status):
    answer(openai_api, status, fixture="error_bad_request.json")

    with pytest.raises(PermanentError) as caught:
        OpenAIScriptWriter().write(scripting_asset())

    assert caught.value.status_code == status
    assert caught.value.message.startswith("Invalid schema for response_format 'Script'")


@pytest.mark.django_db(transaction=True)
def test_through_the_runner_invalid_output_is_retried_then_dead_lettered_with_its_reason(openai_api, settings):
    settings.RATE_LIMITS = {}
    settings.STAGE_ATTEMPTS = {**settings.STAGE_ATTEMPTS, "script": 2}
    answer(openai_api, fixture="responses_invalid.json")
    asset = scripting_asset()

    assert runner.run(STAGES["script"], asset.pk) == "retrying"
    asset.refresh_from_db()
    assert asset.state == Asset.State.SCRIPTING and "invalid structured output" in asset.last_error

    assert runner.run(STAGES["script"], asset.pk) == "dead_lettered"
    asset.refresh_from_db()
    letter = asset.dead_letters.get()
    assert asset.state == Asset.State.FAILED and letter.error_class == "transient"
    assert letter.error_message.startswith("openai: invalid structured output: beats:")
