"""A platform down for longer than its breaker's reset_timeout, with two worker processes publishing to it."""

import time

import pytest
from django.db.models import Sum

from phantoms.engine.models import BreakerEvent, DeadLetter, StageAttempt
from phantoms.resilience.breakers import forget_breakers, get_breaker
from publishing.models import Publication
from sandbox.faults import call_count, clear_faults, set_faults
from sandbox.services import ledger_summary
from tests.chaos.common import all_in, platform_channels, review_all, submit
from tests.workers import kill_group, start_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.chaos]

PUBLICATIONS = 6
FAIL_MAX = 3
RESET_TIMEOUT = 3
OPEN_WINDOW = 8.0


def attempts(pks) -> int:
    return Publication.objects.filter(pk__in=pks).aggregate(n=Sum("attempts"))["n"] or 0


def leased(pks) -> bool:
    return Publication.objects.filter(pk__in=pks, lease_owner__gt="").exists()


def quiet_sample(pks) -> dict:
    """Calls, the last breaker event and attempts, taken while no job holds a lease (so no probe is
    half-way between its half-open event and its call)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if leased(pks):
            time.sleep(0.02)
            continue
        sample = {"at": time.monotonic(), "calls": call_count("tiktok"), "attempts": attempts(pks),
                  "event": BreakerEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0}
        if not leased(pks):
            return sample
    raise AssertionError("a publication stayed leased for 30 s")


def test_outage_costs_only_probes_and_heals_itself(sandbox, settings):
    settings.BREAKERS = {**settings.BREAKERS,
                         "tiktok": {"fail_max": FAIL_MAX, "reset_timeout": RESET_TIMEOUT, "success_threshold": 1}}
    forget_breakers()
    breaker = get_breaker("tiktok")
    channel = platform_channels()["tiktok"]
    pks = submit(PUBLICATIONS, lambda i: [channel])
    set_faults("tiktok", outage=True)
    publications = review_all(pks)
    assert len(publications) == PUBLICATIONS

    env = {"BREAKER_TIKTOK_FAIL_MAX": FAIL_MAX, "BREAKER_TIKTOK_RESET_TIMEOUT": RESET_TIMEOUT}
    workers = [start_worker(sandbox, ["publish"], **env) for _ in range(2)]
    try:
        # Open, and the calls that tripped it have committed their outcome.
        assert wait_for(lambda: breaker.status().state == "open" and not leased(publications), timeout=60), \
            breaker.status()
        # Every failure that tripped it was a real call, counted as an attempt.
        assert attempts(publications) == StageAttempt.objects.filter(outcome="transient").count() >= FAIL_MAX
        start = quiet_sample(publications)
        time.sleep(OPEN_WINDOW)
        end = quiet_sample(publications)
        window = end["at"] - start["at"]
        calls, probes = end["calls"] - start["calls"], BreakerEvent.objects.filter(
            name="tiktok", to_state="half-open", id__gt=start["event"], id__lte=end["event"]).count()
        # While open, only the single coordinated probe per reset_timeout reaches the platform. opened_at
        # is stored in whole seconds, so consecutive probes are more than RESET_TIMEOUT - 1 s apart.
        assert 1 <= probes <= int(window / (RESET_TIMEOUT - 1)) + 1, (probes, window)
        assert calls == probes, (calls, probes)
        # A failed probe is the provider still being down: nobody is charged an attempt.
        assert end["attempts"] == start["attempts"]
        assert breaker.status().rejected_calls > 0

        clear_faults("tiktok")
        assert wait_for(lambda: all_in(Publication, publications, "published"), timeout=60), \
            list(Publication.objects.filter(pk__in=publications).values_list("state", "last_error"))
    finally:
        for worker in workers:
            kill_group(worker)

    assert breaker.status().state == "closed"
    events = list(BreakerEvent.objects.filter(name="tiktok").order_by("id").values_list("from_state", "to_state"))
    assert events.count(("closed", "open")) == 1, events
    assert events[-1] == ("half-open", "closed") and [e[1] for e in events].count("closed") == 1, events
    assert not DeadLetter.objects.exists()
    assert attempts(publications) == 0
    ledger = ledger_summary()
    assert (ledger["posts"], ledger["duplicates"]) == (PUBLICATIONS, 0)
