"""Scripts from an OpenAI-compatible API, with structured output into the Script model.

Two protocols, one result:
- the Responses API (`POST /v1/responses`, `text.format` a strict `json_schema`), OpenAI's own;
- Chat Completions (`POST /v1/chat/completions`, `response_format` `{"type": "json_schema", ...}`),
  which the OpenAI-compatible servers people run locally speak (Ollama, vLLM, LM Studio,
  llama.cpp) when they have no Responses API.
`OPENAI_SCRIPT_API` picks one ("responses", "chat"); "auto" (the default) uses the Responses API
and, the first time a server answers it with 404 or 405 (no such route), switches to Chat
Completions for that base URL for the rest of the process. Both answers are validated by the same
pydantic model.

Failure classes for what the model sends back:
- invalid or empty structured output, or an answer cut off at the token limit, is an InvalidOutput
  (transient, outside the breaker): models are sampled, and a second answer is usually valid; the
  stage's attempt budget bounds the retries, and the dead letter then carries the validation error;
- a refusal, or an answer cut off by the content filter, is permanent: the same brief gets the
  same refusal, so a person has to change it.
Reasoning models (o-series, gpt-5) are sent no `temperature`, which they refuse.
"""

import logging
import threading

import openai
import pydantic
from django.conf import settings

from phantoms.resilience.errors import PermanentError
from pipeline.prompts import build_prompt, token_usage
from pipeline.providers.base import ScriptResult, ScriptWriter
from pipeline.providers.openai_client import InvalidOutput, openai_client, openai_errors
from pipeline.script_format import Script

logger = logging.getLogger(__name__)

PROVIDER = "openai"
APIS = ("auto", "responses", "chat")
# Per process: the base URLs found to lack the Responses API.
_chat_only: set[str] = set()
_chat_only_lock = threading.Lock()


def _refusal(response) -> str:
    for item in response.output or []:
        for part in getattr(item, "content", None) or []:
            if getattr(part, "type", "") == "refusal":
                return getattr(part, "refusal", "") or "no reason given"
    return ""


def _short(error: pydantic.ValidationError) -> str:
    problems = []
    for detail in error.errors()[:5]:
        where = ".".join(str(part) for part in detail.get("loc", ())) or "output"
        problems.append(f"{where}: {detail.get('msg', '')}")
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f" (+{more} more)" if more > 0 else "")


def _invalid(exc: pydantic.ValidationError) -> InvalidOutput:
    first = exc.errors()[0] if exc.error_count() else {}
    if first.get("type") == "json_invalid" and not str(first.get("input", "")).strip():
        return InvalidOutput("empty output: the model returned no text", provider=PROVIDER)
    return InvalidOutput(f"invalid structured output: {_short(exc)}", provider=PROVIDER)


def _no_such_route(exc: PermanentError) -> bool:
    """A 404/405 for the path itself (the server has no Responses API), not an answer about the request.

    OpenAI answers a request it understood with an error naming a `param` or a code such as
    `model_not_found`; servers without the route answer with a bare "404 page not found", a
    `{"detail": "Not Found"}` or an error object naming neither.
    """
    if exc.status_code not in (404, 405):
        return False
    cause = exc.__cause__
    body = cause.body if isinstance(cause, openai.APIStatusError) else None
    error = body.get("error", body) if isinstance(body, dict) else None
    answered = isinstance(error, dict) and (error.get("param") or error.get("code") == "model_not_found")
    return not answered


def chosen_api() -> str:
    choice = settings.OPENAI_SCRIPT_API
    if choice not in APIS:
        raise PermanentError(f"OPENAI_SCRIPT_API must be one of {', '.join(APIS)}, not {choice!r}", provider=PROVIDER)
    if choice == "auto":
        return "chat" if settings.OPENAI_BASE_URL in _chat_only else "responses"
    return choice


def forget_detected_apis() -> None:
    with _chat_only_lock:
        _chat_only.clear()


class OpenAIScriptWriter(ScriptWriter):
    name = "openai"
    breaker = "openai"
    rate_limit = "openai"

    def write(self, asset, *, words_per_second: float | None = None) -> ScriptResult:
        prompt = build_prompt(asset, words_per_second=words_per_second)
        api = chosen_api()
        if api == "chat":
            return self.via_chat(prompt)
        try:
            return self.via_responses(prompt)
        except PermanentError as exc:
            if settings.OPENAI_SCRIPT_API != "auto" or not _no_such_route(exc):
                raise
            logger.info("%s has no Responses API (%s); writing scripts through Chat Completions",
                        settings.OPENAI_BASE_URL, exc.status_code)
            with _chat_only_lock:
                _chat_only.add(settings.OPENAI_BASE_URL)
            return self.via_chat(prompt)

    def via_responses(self, prompt) -> ScriptResult:
        options = {"temperature": prompt.temperature} if prompt.temperature is not None else {}
        timeout = settings.OPENAI_TIMEOUT
        try:
            with openai_client(timeout) as client, openai_errors(PROVIDER):
                response = client.responses.parse(model=prompt.model, instructions=prompt.instructions,
                                                  input=prompt.input, text_format=Script, timeout=timeout,
                                                  **options)
        except pydantic.ValidationError as exc:
            raise _invalid(exc) from exc

        incomplete = getattr(response.incomplete_details, "reason", None) if response.incomplete_details else None
        if incomplete == "content_filter":
            raise PermanentError("the answer was stopped by the content filter", provider=PROVIDER)
        refusal = _refusal(response)
        if refusal:
            raise PermanentError(f"the model refused: {refusal[:500]}", provider=PROVIDER)
        script = response.output_parsed
        if script is None:
            detail = f" (incomplete: {incomplete})" if incomplete else ""
            raise InvalidOutput(f"empty output: the response held no script{detail}", provider=PROVIDER)

        model = response.model or prompt.model
        usage = response.usage
        return ScriptResult(
            script=script,
            model=model,
            usage={"api": "responses", **token_usage(model, int(getattr(usage, "input_tokens", 0) or 0),
                                                     int(getattr(usage, "output_tokens", 0) or 0))},
            template=prompt.template,
        )

    def via_chat(self, prompt) -> ScriptResult:
        options = {"temperature": prompt.temperature} if prompt.temperature is not None else {}
        timeout = settings.OPENAI_TIMEOUT
        messages = [{"role": "system", "content": prompt.instructions}, *prompt.input]
        try:
            with openai_client(timeout) as client, openai_errors(PROVIDER):
                completion = client.chat.completions.parse(model=prompt.model, messages=messages,
                                                           response_format=Script, timeout=timeout, **options)
        except pydantic.ValidationError as exc:
            raise _invalid(exc) from exc
        except openai.LengthFinishReasonError as exc:
            raise InvalidOutput("the answer was cut off at the token limit", provider=PROVIDER) from exc
        except openai.ContentFilterFinishReasonError as exc:
            raise PermanentError("the answer was stopped by the content filter", provider=PROVIDER) from exc

        if not completion.choices:
            raise InvalidOutput("empty output: the completion held no choices", provider=PROVIDER)
        message = completion.choices[0].message
        if getattr(message, "refusal", None):
            raise PermanentError(f"the model refused: {message.refusal[:500]}", provider=PROVIDER)
        if message.parsed is None:
            raise InvalidOutput("empty output: the completion held no script", provider=PROVIDER)
        model = completion.model or prompt.model
        usage = completion.usage
        return ScriptResult(
            script=message.parsed,
            model=model,
            usage={"api": "chat", **token_usage(model, int(getattr(usage, "prompt_tokens", 0) or 0),
                                                int(getattr(usage, "completion_tokens", 0) or 0))},
            template=prompt.template,
        )
