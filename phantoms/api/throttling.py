"""Throttling per integration token, per signed-in user and per anonymous address.

Counts live in the default cache (Redis), so every web process counts together. Rates come from
API_THROTTLE_RATES (read on each request); a 429 carries Retry-After. Tokens and users are counted
here, by DRF; anonymous requests (no credentials, or wrong ones) never reach a view's throttles
(authentication refuses them first), so `anonymous_throttle` counts those per address around the view.
"""

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import IntegrationToken
from phantoms.api.errors import json_error


def parse_rate(rate: str) -> tuple[int, int]:
    number, period = rate.split("/")
    return int(number), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]


def anonymous_throttle(get_response):
    """Under /api/: an address whose requests ended anonymous API_THROTTLE_RATES["anon"] times in the
    window is answered 429 until the window ends."""

    def middleware(request):
        if not request.path.startswith("/api/"):
            return get_response(request)
        rate = settings.API_THROTTLE_RATES.get("anon")
        if not rate:
            return get_response(request)
        limit, window = parse_rate(rate)
        now = int(time.time())
        start = now - now % window
        key = f"throttle:anon:{request.META.get('REMOTE_ADDR', '')}:{start}"
        if (cache.get(key) or 0) >= limit:
            wait = start + window - now
            return json_error(429, f"Request was throttled. Expected available in {wait} seconds.",
                              Retry_After=str(wait))
        response = get_response(request)
        user = getattr(request, "user", None)
        if not (user is not None and user.is_authenticated):
            cache.add(key, 0, timeout=window + 1)
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=window + 1)
        return response

    return middleware


class PrincipalRateThrottle(SimpleRateThrottle):
    cache_format = "throttle:%(scope)s:%(ident)s"

    def __init__(self):  # the rate depends on who is asking: chosen per request
        self.rate = None

    def who(self, request) -> tuple[str, str]:
        if isinstance(request.auth, IntegrationToken):
            return "token", str(request.auth.pk)
        if request.user and request.user.is_authenticated:
            return "user", str(request.user.pk)
        return "anon", self.get_ident(request)  # counted by anonymous_throttle instead

    def allow_request(self, request, view):
        self.scope, ident = self.who(request)
        self.rate = settings.API_THROTTLE_RATES.get(self.scope)
        if not self.rate or self.scope == "anon":
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = self.cache_format % {"scope": self.scope, "ident": ident}
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()

    def get_cache_key(self, request, view):  # not used: allow_request builds the key
        return None
