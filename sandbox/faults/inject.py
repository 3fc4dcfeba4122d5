"""Applying the faults to one request: count it, then outage, latency and one random draw.

How a request is treated, in order:
  1. the call is counted;
  2. `outage` answers 503 to everything;
  3. `latency_ms` delays the request;
  4. one random draw picks at most one of rate_limit / error / timeout / accept_then_timeout. The
     rates are stacked, so each fires at exactly its configured rate while they sum to at most 1;
     beyond that the earlier ones in this list win.
"""

import random
import time

from django.http import HttpResponse

from sandbox.faults.responses import error_response, rate_limited, timed_out
from sandbox.faults.store import check_target, count_and_read, fired, platform_targets


def apply_faults(target: str, request=None, *, on_accept=None, upload: bool = False) -> HttpResponse | None:
    """Count the call and return the faulted response, or None to let the view answer normally.

    `on_accept` is passed by platform post creation and by the render service's create call: an
    accept_then_timeout fault calls it (recording the post, starting the render) before holding the
    response past the client's timeout. Other platform calls ignore that fault; for other targets,
    or an invalid render, it behaves as a plain timeout. `upload` marks a chunk upload, which
    `lost_answers_on_posts_only` spares from that fault.
    """
    check_target(target)
    faults = count_and_read(target)
    if faults["outage"]:
        fired(target, "outage")
        return error_response(target, 503, "Service unavailable.", code="service_unavailable",
                              error_type="server_error")
    if faults["latency_ms"]:
        time.sleep(faults["latency_ms"] / 1000.0)

    accept_then_timeout = faults["accept_then_timeout_rate"]
    if target in platform_targets() and (on_accept is None or (upload and faults["lost_answers_on_posts_only"])):
        accept_then_timeout = 0.0
    rates = [
        ("rate_limit", faults["rate_limit_rate"]),
        ("error", faults["error_rate"]),
        ("timeout", faults["timeout_rate"]),
        ("accept_then_timeout", accept_then_timeout),
    ]
    if not any(rate for _, rate in rates):
        return None
    draw = random.random()
    threshold = 0.0
    for kind, rate in rates:
        threshold += rate
        if rate and draw < threshold:
            fired(target, kind)
            if kind == "rate_limit":
                return rate_limited(target, faults)
            if kind == "error":
                return error_response(target, 500, "Internal server error (injected).",
                                      code="server_error", error_type="server_error")
            if kind == "accept_then_timeout" and on_accept is not None:
                on_accept()
            return timed_out(target)
    return None


