"""Scripts from an OpenAI-compatible Responses API, with structured output into the Script model.

Failure classes for what the model sends back:
- invalid or empty structured output is an InvalidOutput (transient, outside the breaker): models
  are sampled, and a second answer is usually valid; the stage's attempt budget bounds the retries,
  and the dead letter then carries the validation error;
- a refusal, or an answer cut off by the content filter, is permanent: the same brief gets the
  same refusal, so a person has to change it.
"""

import pydantic
from django.conf import settings

from phantoms.resilience.errors import PermanentError
from pipeline.prompts import build_prompt, cost_usd
from pipeline.providers.base import ScriptResult, ScriptWriter
from pipeline.providers.openai_client import InvalidOutput, openai_client, openai_errors
from pipeline.script_format import Script

PROVIDER = "openai"


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


class OpenAIScriptWriter(ScriptWriter):
    name = "openai"
    breaker = "openai"
    rate_limit = "openai"

    def write(self, asset) -> ScriptResult:
        prompt = build_prompt(asset)
        options = {"temperature": prompt.temperature} if prompt.temperature is not None else {}
        timeout = settings.OPENAI_TIMEOUT
        try:
            with openai_client(timeout) as client, openai_errors(PROVIDER):
                response = client.responses.parse(model=prompt.model, instructions=prompt.instructions,
                                                  input=prompt.input, text_format=Script, timeout=timeout,
                                                  **options)
        except pydantic.ValidationError as exc:
            first = exc.errors()[0] if exc.error_count() else {}
            if first.get("type") == "json_invalid" and not str(first.get("input", "")).strip():
                raise InvalidOutput("empty output: the model returned no text", provider=PROVIDER) from exc
            raise InvalidOutput(f"invalid structured output: {_short(exc)}", provider=PROVIDER) from exc

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
        input_tokens = int(getattr(usage, "input_tokens", 0) or 0)
        output_tokens = int(getattr(usage, "output_tokens", 0) or 0)
        return ScriptResult(
            script=script,
            model=model,
            usage={"input_tokens": input_tokens, "output_tokens": output_tokens,
                   "cost_usd": cost_usd(model, input_tokens, output_tokens)},
            template=prompt.template,
        )
