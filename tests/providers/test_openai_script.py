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


# --- Chat Completions: the protocol OpenAI-compatible local servers speak --------------------------

def chat_answer(mock, status=200, body=None, headers=None, fixture="chat_success.json", **kwargs):
    if body is None and status == 200 and fixture:
        body = recorded(fixture)
    return mock.post("/chat/completions").mock(
        return_value=httpx.Response(status, json=body, headers=headers or {}, **kwargs))


def test_chat_completions_by_setting_send_the_schema_and_parse_the_same_script(openai_api, settings):
    settings.OPENAI_SCRIPT_API = "chat"
    settings.OPENAI_MODEL = "llama3.1:8b"
    responses_route = answer(openai_api, fixture="responses_success.json")
    route = chat_answer(openai_api)

    result = OpenAIScriptWriter().write(scripting_asset(), words_per_second=3.0)

    assert responses_route.call_count == 0 and route.call_count == 1
    assert isinstance(result.script, Script) and result.script.title == "Sleep better tonight"
    assert [beat.visual_query for beat in result.script.beats] == ["alarm clock bedside", "dim lamp bedroom"]
    sent = json.loads(route.calls.last.request.content)
    assert sent["model"] == "llama3.1:8b" and sent["temperature"] == 0.7
    assert sent["messages"][0]["role"] == "system" and "short-form" in sent["messages"][0]["content"]
    assert sent["messages"][-1]["content"].startswith("Brief: Three tips for better sleep\nTarget duration: 6 s")
    assert "about 18 words" in sent["messages"][-1]["content"]
    schema_format = sent["response_format"]
    assert schema_format["type"] == "json_schema" and schema_format["json_schema"]["strict"] is True
    beat_schema = schema_format["json_schema"]["schema"]["$defs"]["Beat"]
    assert "visual_query" in beat_schema["required"]
    # A local model has no price: its cost is unknown, and the usage says so.
    assert result.usage["api"] == "chat"
    assert (result.usage["input_tokens"], result.usage["output_tokens"]) == (398, 176)
    assert result.usage["cost_usd"] is None and "llama3.1:8b" in result.usage["cost_note"]


def test_auto_switches_to_chat_completions_once_when_the_server_has_no_responses_api(openai_api):
    responses_route = openai_api.post("/responses").mock(
        return_value=httpx.Response(404, text="404 page not found", headers={"content-type": "text/plain"}))
    chat_route = chat_answer(openai_api)

    first = OpenAIScriptWriter().write(scripting_asset())
    second = OpenAIScriptWriter().write(scripting_asset())

    assert first.script.title == second.script.title == "Sleep better tonight"
    assert responses_route.call_count == 1  # detected once, then remembered for this base URL
    assert chat_route.call_count == 2


def test_a_missing_model_is_not_mistaken_for_a_missing_api(openai_api):
    answer(openai_api, 404, body={"error": {"message": "The model `gpt-9` does not exist or you do not have access "
                                                      "to it.", "type": "invalid_request_error", "param": None,
                                            "code": "model_not_found"}})
    chat_route = chat_answer(openai_api)

    with pytest.raises(PermanentError, match="does not exist") as caught:
        OpenAIScriptWriter().write(scripting_asset())
    assert caught.value.status_code == 404 and chat_route.call_count == 0


def test_responses_only_setting_never_falls_back(openai_api, settings):
    settings.OPENAI_SCRIPT_API = "responses"
    openai_api.post("/responses").mock(return_value=httpx.Response(404, text="404 page not found"))
    chat_route = chat_answer(openai_api)

    with pytest.raises(PermanentError):
        OpenAIScriptWriter().write(scripting_asset())
    assert chat_route.call_count == 0


def test_an_unknown_script_api_setting_is_named(openai_api, settings):
    settings.OPENAI_SCRIPT_API = "completions"
    with pytest.raises(PermanentError, match="OPENAI_SCRIPT_API must be one of auto, responses, chat"):
        OpenAIScriptWriter().write(scripting_asset())


def _chat_body(content=None, finish_reason="stop", refusal=None):
    body = recorded("chat_success.json")
    body["choices"][0]["message"]["content"] = content
    body["choices"][0]["message"]["refusal"] = refusal
    body["choices"][0]["finish_reason"] = finish_reason
    return body


@pytest.mark.parametrize("body,error,message", [
    (_chat_body('{"title": "x"}'), InvalidOutput, "invalid structured output: hook:"),
    (_chat_body("not json at all"), InvalidOutput, "invalid structured output:"),
    (_chat_body('{"title": "x"', finish_reason="length"), InvalidOutput, "cut off at the token limit"),
    (_chat_body(None, refusal="I can't help with that."), PermanentError, "the model refused: I can't help"),
    (_chat_body(None, finish_reason="content_filter"), PermanentError, "content filter"),
])
def test_chat_completions_answers_that_are_not_scripts(openai_api, settings, body, error, message):
    settings.OPENAI_SCRIPT_API = "chat"
    chat_answer(openai_api, body=body)

    with pytest.raises(error) as caught:
        OpenAIScriptWriter().write(scripting_asset())
    assert caught.value.message.startswith(message) or message in caught.value.message


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_reasoning_models_are_sent_no_temperature(openai_api, settings, api):
    settings.OPENAI_SCRIPT_API = api
    settings.OPENAI_MODEL = "o4-mini"
    route = answer(openai_api, fixture="responses_success.json") if api == "responses" else chat_answer(openai_api)

    OpenAIScriptWriter().write(scripting_asset())

    assert "temperature" not in json.loads(route.calls.last.request.content)


@pytest.mark.django_db(transaction=True)
def test_a_chat_only_server_writes_scripts_over_http(sandbox, settings):
    """The sandbox's compatible mount has Chat Completions only, as Ollama or vLLM serve it."""
    settings.OPENAI_BASE_URL = f"{sandbox}/sandbox/openai-compatible/v1"
    settings.OPENAI_MODEL = "llama3.1:8b"
    asset = make_asset(Asset.State.SCRIPTING, brief="Why cold brew tastes smoother than hot coffee",
                       providers={"script": "openai"}, target_duration_seconds=30)

    assert runner.run(STAGES["script"], asset.pk) == "succeeded"

    asset.refresh_from_db()
    assert asset.state == Asset.State.VOICING
    assert asset.usage["script"]["api"] == "chat" and asset.usage["script"]["cost_usd"] is None
    script = Script.model_validate(asset.script)
    assert "cold brew" in script.narration_text().lower()
    assert all(beat.visual_query for beat in script.beats)
    assert asset.usage["script"]["words"] <= asset.usage["script"]["word_budget"] * 1.05
