"""How Instagram's Graph API answers map to Phantoms' failure classes.

Graph API "Handling Errors" and "Rate Limits": an error is `{"error": {"message", "type", "code",
"error_subcode", "is_transient", "fbtrace_id"}}`, and throttling is told by the code, not by a 429:
4 (application), 17 (user), 32 (page), 613 (custom rate limit), 80002 (Instagram business use case
limit), and 9 with subcode 2207042 (the 24-hour content publishing limit). When the budget is
spent, `X-Business-Use-Case-Usage` carries `estimated_time_to_regain_access` in minutes, and
`X-App-Usage` the percentage used.
"""

import json

import httpx

THROTTLE_CODES = {4, 17, 32, 613, 80002}
PUBLISH_LIMIT = (9, 2207042)
NOT_READY = (9007, 2207027)
BAD_TOKEN = {190, 102, 2500}
NO_SUCH_OBJECT = (100, 33)
# When an answer says "not now" without saying until when: the documentation's call-count windows are
# an hour long, the publishing limit a rolling 24 hours.
DEFAULT_WAIT = 600.0
PUBLISH_LIMIT_WAIT = 3600.0
SHORT_WAIT = 5.0


def graph_error(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def code_of(error: dict) -> tuple[int | None, int | None]:
    def number(value):
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
    return number(error.get("code")), number(error.get("error_subcode"))


def regain_seconds(headers: httpx.Headers) -> float | None:
    """The longest `estimated_time_to_regain_access` (minutes) in the business use case header."""
    raw = headers.get("x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    minutes = [entry.get("estimated_time_to_regain_access") or 0
               for entries in (usage.values() if isinstance(usage, dict) else [])
               for entry in (entries if isinstance(entries, list) else []) if isinstance(entry, dict)]
    if not minutes:
        return None
    # Whole minutes: 0 means access comes back within the minute, so look again shortly.
    return max(float(max(minutes)) * 60, SHORT_WAIT)


def throttle_wait(response: httpx.Response) -> float | None:
    """Seconds to wait when this answer is Instagram saying "not now", else None."""
    if response.status_code < 400:
        return None
    code, subcode = code_of(graph_error(response))
    if code in THROTTLE_CODES:
        return regain_seconds(response.headers) or DEFAULT_WAIT
    if (code, subcode) == PUBLISH_LIMIT:
        return regain_seconds(response.headers) or PUBLISH_LIMIT_WAIT
    if response.status_code == 429:  # not documented for the Graph API, honoured all the same
        return regain_seconds(response.headers) or DEFAULT_WAIT
    return None


def message_of(response: httpx.Response) -> str:
    error = graph_error(response)
    if not error:
        return response.text[:500] or response.reason_phrase
    code, subcode = code_of(error)
    parts = [str(error.get("error_user_title") or ""), str(error.get("message") or "")]
    text = ": ".join(p for p in parts if p)
    suffix = f"code {code}" + (f", subcode {subcode}" if subcode else "")
    return f"{text} ({suffix})"[:500]
