"""The openai SDK set up the way every adapter here needs it, and its exceptions in our failure classes.

One layer owns retries (docs/architecture.md, "Failure classes"): the runner. So the SDK's own retries are off and every
call carries its own timeout. The SDK is handed a plain httpx client, the HTTP stack every other
integration uses (and the one respx can record and replay in tests).
"""

import re
from contextlib import contextmanager

import httpx
import openai
from django.conf import settings

from phantoms.resilience.errors import (
    ConfigurationError,
    PermanentError,
    RateLimited,
    TransientError,
)
from phantoms.resilience.http import retry_after_seconds, tls_context

QUOTA_CODES = {"insufficient_quota", "billing_hard_limit_reached", "billing_not_active"}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class InvalidOutput(TransientError):
    """The model answered, but not with a usable script.

    Another sample often succeeds, so it is retried within the stage's attempt budget; but a
    model that writes bad JSON says nothing about whether the service is up, so the breaker
    does not count it.
    """

    counts_toward_breaker = False


def make_client(timeout: float) -> openai.OpenAI:
    if not settings.OPENAI_API_KEY:
        raise ConfigurationError("OPENAI_API_KEY is empty; OpenAI-compatible servers that need no key "
                                 "still want a placeholder", provider="openai")
    http_client = httpx.Client(
        timeout=httpx.Timeout(timeout, connect=settings.HTTP_TIMEOUTS["connect"]),
        follow_redirects=True,
        verify=tls_context(),
    )
    return openai.OpenAI(api_key=settings.OPENAI_API_KEY, base_url=settings.OPENAI_BASE_URL, max_retries=0,
                         timeout=timeout, http_client=http_client)


@contextmanager
def openai_client(timeout: float):
    client = make_client(timeout)
    try:
        yield client
    finally:
        client.close()


def _duration_seconds(value: str) -> float | None:
    """OpenAI's x-ratelimit-reset-* headers read like "20ms", "1s" or "6m0s"."""
    parts = _DURATION_PART.findall(value or "")
    if not parts:
        return None
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def rate_limit_wait(headers) -> float:
    """When the provider takes calls again: retry-after-ms, Retry-After, then the reset headers."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    if headers.get("retry-after") or headers.get("x-ratelimit-reset"):
        return retry_after_seconds(headers)
    waits = [_duration_seconds(headers.get(name, "")) for name in
             ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens")]
    waits = [wait for wait in waits if wait is not None]
    return max(waits) if waits else retry_after_seconds(headers)


def provider_message(exc: openai.APIError) -> str:
    body = exc.body
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])[:500]
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    return exc.message[:500]


def is_quota_exhausted(exc: openai.APIError) -> bool:
    body = exc.body if isinstance(exc.body, dict) else {}
    return bool({exc.code, exc.type, body.get("code"), body.get("type")} & QUOTA_CODES)


def classify(exc: openai.OpenAIError, provider: str) -> Exception:
    """The failure class for an SDK exception; anything unrecognised is returned unchanged."""
    if isinstance(exc, openai.APITimeoutError):
        return TransientError("timed out waiting for a response", provider=provider)
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        return TransientError(f"could not reach the API: {cause!r}" if cause else exc.message, provider=provider)
    if isinstance(exc, openai.APIResponseValidationError):
        return TransientError(f"unexpected response shape: {exc.message}", provider=provider,
                              status_code=exc.status_code)
    if not isinstance(exc, openai.APIStatusError):
        return exc
    status, message = exc.status_code, provider_message(exc)
    if isinstance(exc, openai.RateLimitError) or status == 429:
        if is_quota_exhausted(exc):
            # Waiting does not refill an empty quota: someone has to pay or raise the limit.
            return PermanentError(f"quota exhausted: {message}", provider=provider, status_code=status)
        return RateLimited(message, retry_after=rate_limit_wait(exc.response.headers), provider=provider,
                           status_code=status)
    # OpenAI answers 409 when a concurrent request holds a lock on the resource; the SDK's own
    # retry policy treats it as worth another go, and so do we.
    if status >= 500 or status in (408, 409):
        return TransientError(message, provider=provider, status_code=status)
    return PermanentError(message, provider=provider, status_code=status)


@contextmanager
def openai_errors(provider: str):
    """Re-raise SDK exceptions as failure classes the runner understands."""
    try:
        yield
    except openai.OpenAIError as exc:
        mapped = classify(exc, provider)
        if mapped is exc:
            raise
        raise mapped from exc
