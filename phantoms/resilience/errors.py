"""The failure classes of docs/architecture.md, "Failure classes". Every provider adapter raises one of these.

The stage runner decides what happens next from the class alone: a transient failure is
retried with backoff, a rate limit is deferred, a permanent failure is dead-lettered at once
and an unknown outcome is checked with the platform before anything is retried.
"""


class ProviderError(Exception):
    failure_class = "error"
    counts_toward_breaker = False

    def __init__(self, message: str, *, provider: str = "", status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status_code = status_code

    def __str__(self) -> str:
        prefix = f"{self.provider}: " if self.provider else ""
        code = f" (HTTP {self.status_code})" if self.status_code else ""
        return f"{prefix}{self.message}{code}"


class TransientError(ProviderError):
    """Timeout, connection error, 5xx, 408: worth retrying later."""

    failure_class = "transient"
    counts_toward_breaker = True


class RateLimited(ProviderError):
    """The provider (or our own limit) says not now; `retry_after` says when."""

    failure_class = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = max(0.0, float(retry_after))


class PermanentError(ProviderError):
    """400/401/403/404/422, content rejected, bad input: retrying will not help."""

    failure_class = "permanent"


class UnknownOutcome(ProviderError):
    """An irreversible call may or may not have taken effect (it timed out after sending)."""

    failure_class = "unknown_outcome"
    counts_toward_breaker = True


class BreakerOpen(ProviderError):
    """The integration's breaker is open (or another process holds the half-open probe)."""

    failure_class = "breaker_open"

    def __init__(self, message: str, *, retry_after: float, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = max(0.0, float(retry_after))


class ConfigurationError(PermanentError):
    """A missing font, binary or key: an operator has to fix the machine, not retry."""


class NotReady(ProviderError):
    """Long external work is still running (a render, a platform's processing): look again later."""

    failure_class = "not_ready"

    def __init__(self, message: str, *, retry_after: float, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = max(0.0, float(retry_after))
