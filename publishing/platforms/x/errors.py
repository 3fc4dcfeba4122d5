"""How X API v2 answers map to Phantoms' failure classes.

X API v2 "Rate limits": every answer carries `x-rate-limit-limit`, `x-rate-limit-remaining` and
`x-rate-limit-reset` (epoch seconds) for the endpoint's 15-minute window; a spent window is a 429.
Posting is also capped per user and per app over 24 hours (`x-user-limit-24hour-*`,
`x-app-limit-24hour-*`), also as a 429. Errors are problem objects `{"title", "detail", "type",
"status"}`, validation errors with `errors: [{"parameters", "message"}]`.
"""

import time

import httpx

DEFAULT_WAIT = 900.0  # one 15-minute window, when a 429 names no reset time
DUPLICATE = "duplicate content"


def _reset_in(headers: httpx.Headers, name: str, now: float) -> float | None:
    value = headers.get(name)
    if value and value.strip().isdigit():
        return max(0.0, float(value) - now)
    return None


def throttle_wait(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds until X takes this call again, for a 429; None for any other answer.

    The longest of the windows that are spent: the 15-minute endpoint window, the user's and the
    app's 24-hour caps.
    """
    if response.status_code != 429:
        return None
    now = time.time() if now is None else now
    waits = []
    for prefix in ("x-user-limit-24hour", "x-app-limit-24hour"):
        if response.headers.get(f"{prefix}-remaining", "").strip() == "0":
            waits.append(_reset_in(response.headers, f"{prefix}-reset", now))
    if response.headers.get("x-rate-limit-remaining", "0").strip() == "0" or not waits:
        waits.append(_reset_in(response.headers, "x-rate-limit-reset", now))
    known = [w for w in waits if w is not None]
    return max(known) if known else DEFAULT_WAIT


def message_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:500]
    details = [str(e.get("message") or e.get("detail")) for e in body.get("errors", []) if isinstance(e, dict)]
    head = str(body.get("detail") or body.get("title") or "")
    return "; ".join(p for p in [head, *details] if p)[:500] or response.reason_phrase


def is_duplicate(response: httpx.Response) -> bool:
    return response.status_code == 403 and DUPLICATE in message_of(response).lower()
