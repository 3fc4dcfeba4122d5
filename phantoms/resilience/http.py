"""HTTP for every integration: one place that turns httpx outcomes into failure classes."""

import email.utils
import functools
import os
import ssl
import threading
import time

import certifi
import httpx
from django.conf import settings

from .errors import PermanentError, RateLimited, TransientError, UnknownOutcome

PERMANENT_STATUSES = {400, 401, 403, 404, 405, 409, 410, 413, 415, 422}
DEFAULT_RATE_LIMIT_WAIT = 30.0


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verified TLS context per process: loading the CA bundle costs ~30 ms, a client should not."""
    return ssl.create_default_context(cafile=certifi.where())


def make_client(base_url: str, *, headers: dict | None = None, read_timeout: float | None = None) -> httpx.Client:
    timeouts = settings.HTTP_TIMEOUTS
    timeout = httpx.Timeout(read_timeout or timeouts["read"], connect=timeouts["connect"])
    return httpx.Client(base_url=base_url, headers=headers or {}, timeout=timeout, verify=tls_context())


_pooled: dict[tuple, httpx.Client] = {}
_pooled_lock = threading.Lock()


def pooled_client(base_url: str, *, read_timeout: float | None = None) -> httpx.Client:
    """The process's keep-alive client for one service; callers pass their own headers per request.

    A client per call pays a TCP (and TLS) handshake and about a millisecond of set-up every time,
    which is most of the cost of a short call such as a status poll. Keyed by process id, so a forked
    worker never shares its parent's sockets.
    """
    timeouts = settings.HTTP_TIMEOUTS
    key = (os.getpid(), base_url, read_timeout or timeouts["read"], timeouts["connect"])
    with _pooled_lock:
        client = _pooled.get(key)
        if client is None or client.is_closed:
            client = _pooled[key] = make_client(base_url, read_timeout=read_timeout)
        return client


def close_pooled_clients() -> None:
    """Close every pooled connection (tests, between live servers: an open keep-alive connection
    keeps the server's thread, and that thread's database connection, alive)."""
    with _pooled_lock:
        clients = list(_pooled.values())
        _pooled.clear()
    for client in clients:
        client.close()


def retry_after_seconds(headers: httpx.Headers, now: float | None = None) -> float:
    """When a 429 says the provider will take calls again, in seconds from now.

    Understands `Retry-After` (seconds or an HTTP date) and the epoch-seconds reset headers that
    X (`x-rate-limit-reset`) and others (`x-ratelimit-reset`) send.
    """
    now = time.time() if now is None else now
    value = headers.get("retry-after")
    if value:
        value = value.strip()
        if value.replace(".", "", 1).isdigit():
            return float(value)
        parsed = email.utils.parsedate_to_datetime(value)
        if parsed is not None:
            return max(0.0, parsed.timestamp() - now)
    for name in ("x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset"):
        value = headers.get(name)
        if value and value.replace(".", "", 1).isdigit():
            number = float(value)
            # Large numbers are epoch timestamps; small ones are delays.
            return max(0.0, number - now) if number > 1_000_000_000 else number
    return DEFAULT_RATE_LIMIT_WAIT


def provider_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return str(error.get("message") or error.get("detail") or error)[:500]
        return str(error)[:500]
    return str(body)[:500]


def raise_for_status(response: httpx.Response, provider: str) -> httpx.Response:
    status = response.status_code
    if status < 400:
        return response
    message = provider_message(response)
    if status == 429:
        raise RateLimited(message, retry_after=retry_after_seconds(response.headers),
                          provider=provider, status_code=status)
    if status in PERMANENT_STATUSES:
        raise PermanentError(message, provider=provider, status_code=status)
    raise TransientError(message, provider=provider, status_code=status)


def send(client: httpx.Client, method: str, url: str, *, provider: str, irreversible: bool = False,
         check=None, **kwargs) -> httpx.Response:
    """Send a request and classify what went wrong.

    For an irreversible call (a publish), a timeout after the request was written means we
    cannot know whether the provider acted on it: that is an UnknownOutcome, never a retry.
    `check(response, provider)` classifies an answer (default `raise_for_status`); a platform whose
    throttling or errors do not follow plain status codes passes its own.
    """
    try:
        response = client.request(method, url, **kwargs)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise TransientError(f"could not connect: {exc!r}", provider=provider)
    except httpx.TimeoutException as exc:
        if irreversible:
            raise UnknownOutcome(f"timed out after sending: {exc!r}", provider=provider)
        raise TransientError(f"timed out: {exc!r}", provider=provider)
    except httpx.TransportError as exc:
        if irreversible:
            raise UnknownOutcome(f"connection lost after sending: {exc!r}", provider=provider)
        raise TransientError(f"transport error: {exc!r}", provider=provider)
    return (check or raise_for_status)(response, provider)
