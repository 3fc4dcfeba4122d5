"""pybreaker behind Redis, with the edges covered: exclusions, uncoordinated probes, Redis errors."""

import threading
import time

import pytest
import redis

from phantoms.engine.models import BreakerEvent
from phantoms.resilience import ratelimit
from phantoms.resilience.breakers import Breaker, forget_breakers, get_breaker
from phantoms.resilience.errors import BreakerOpen, PermanentError, RateLimited, TransientError
from tests.helpers import flush_redis

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tight(settings):
    settings.BREAKERS = {**settings.BREAKERS, "youtube": {"fail_max": 3, "reset_timeout": 1, "success_threshold": 1}}
    forget_breakers()
    yield get_breaker("youtube")
    forget_breakers()


@pytest.fixture
def steady(settings):
    """Like `tight`, but open long enough to be seen open: pybreaker keeps `opened_at` in whole seconds,
    so a breaker opened late in a second may probe within milliseconds of a one-second timeout."""
    settings.BREAKERS = {**settings.BREAKERS, "youtube": {"fail_max": 3, "reset_timeout": 5, "success_threshold": 1}}
    forget_breakers()
    yield get_breaker("youtube")
    forget_breakers()


def fail_with(exc):
    def call():
        raise exc

    return call


def test_permanent_errors_and_rate_limits_do_not_trip(tight):
    for _ in range(10):
        with pytest.raises(PermanentError):
            tight.call(fail_with(PermanentError("bad title")))
        with pytest.raises(RateLimited):
            tight.call(fail_with(RateLimited("slow", retry_after=1)))
    assert tight.status().state == "closed"
    assert tight.status().fail_counter == 0


def test_transient_errors_trip_it_and_the_change_is_recorded(steady):
    tight = steady
    for _ in range(3):
        with pytest.raises(TransientError):
            tight.call(fail_with(TransientError("503")))
    status = tight.status()
    assert status.state == "open" and status.probe_at is not None
    event = BreakerEvent.objects.get(name="youtube", to_state="open")
    assert event.from_state == "closed" and "503" in event.error
    calls = []
    with pytest.raises(BreakerOpen) as info:
        tight.call(lambda: calls.append(1))
    assert calls == [] and 3 < info.value.retry_after <= 5.0
    assert tight.status().rejected_calls == 1


def test_state_is_shared_between_processes_views(steady):
    tight = steady
    other = Breaker("youtube")  # a second process's view of the same breaker
    for _ in range(3):
        with pytest.raises(TransientError):
            tight.call(fail_with(TransientError("503")))
    with pytest.raises(BreakerOpen):
        other.call(lambda: None)


def test_only_one_probe_at_a_time_across_workers(tight):
    for _ in range(3):
        with pytest.raises(TransientError):
            tight.call(fail_with(TransientError("503")))
    time.sleep(2.1)  # opened_at has one-second resolution
    entered, release = threading.Event(), threading.Event()
    probes = []

    def slow_probe():
        probes.append(1)
        entered.set()
        release.wait(5)
        return "ok"

    result = []
    prober = threading.Thread(target=lambda: result.append(Breaker("youtube").call(slow_probe)))
    prober.start()
    assert entered.wait(5)
    others = 0
    for _ in range(5):
        with pytest.raises(BreakerOpen):
            Breaker("youtube").call(slow_probe)
        others += 1
    release.set()
    prober.join(5)
    assert probes == [1] and others == 5 and result == ["ok"]
    assert tight.status().state == "closed"


def test_unreadable_state_defers_instead_of_assuming_closed(tight, monkeypatch):
    def broken(*args, **kwargs):
        raise redis.exceptions.ConnectionError("redis is down")

    monkeypatch.setattr(tight.redis, "get", broken)
    calls = []
    with pytest.raises(BreakerOpen) as info:
        tight.call(lambda: calls.append(1))
    assert calls == [] and "unreadable" in str(info.value)


def trip(breaker, times=3):
    for _ in range(times):
        with pytest.raises(TransientError):
            breaker.call(fail_with(TransientError("503")))


def test_a_flush_keeps_an_open_breaker_open_until_its_reset_time(tight, settings):
    settings.BREAKERS = {**settings.BREAKERS, "youtube": {"fail_max": 3, "reset_timeout": 3, "success_threshold": 1}}
    forget_breakers()
    survivor = get_breaker("youtube")  # a process that lives through the flush (its own cached state: open)
    trip(survivor)
    opened = survivor.status().opened_at
    events = BreakerEvent.objects.count()
    flush_redis()  # Redis lost every key; a new process starts with nothing cached
    newcomer = get_breaker("youtube")
    assert newcomer is not survivor

    calls = []
    deadline = opened.timestamp() + 3
    rejected = 0
    while time.time() < deadline - 0.3:
        for breaker in (survivor, newcomer):
            with pytest.raises(BreakerOpen) as info:
                breaker.call(lambda: calls.append(1))
            assert 0 < info.value.retry_after <= 3
            rejected += 1
        time.sleep(0.1)
    assert calls == [] and rejected >= 10
    status = newcomer.status()
    assert status.state == "open" and status.opened_at == opened
    assert BreakerEvent.objects.count() == events  # rebuilt, not recorded again

    time.sleep(max(0.0, deadline - time.time()) + 1.1)  # opened_at has one-second resolution
    assert newcomer.call(lambda: calls.append(1) or "ok") == "ok"  # the probe, at its time
    assert calls == [1] and newcomer.status().state == "closed"


def test_a_flush_after_the_breaker_closed_leaves_it_closed(tight):
    trip(tight)
    tight.force_close(actor="ops")
    flush_redis()
    assert get_breaker("youtube").call(lambda: "ok") == "ok"
    assert get_breaker("youtube").status().state == "closed"


def test_an_unfinished_probe_is_taken_as_open_from_its_start(tight):
    BreakerEvent.objects.create(name="youtube", from_state="open", to_state="half-open")
    flush_redis()
    with pytest.raises(BreakerOpen):
        get_breaker("youtube").call(lambda: "ok")


def test_operator_actions(tight):
    tight.force_open(actor="alice")
    assert tight.status().state == "open"
    assert BreakerEvent.objects.filter(name="youtube", to_state="open", actor="alice").exists()
    tight.force_close(actor="alice")
    assert tight.status().state == "closed"


def test_token_bucket_shares_a_per_account_limit(settings):
    settings.RATE_LIMITS = {"tiktok": (6, 60)}
    waits = [ratelimit.acquire("tiktok", "acct-1") for _ in range(8)]
    assert waits[:6] == [0.0] * 6
    assert 9.0 <= waits[6] <= 10.5  # one token refills every 10 s
    assert ratelimit.acquire("tiktok", "acct-2") == 0.0  # another account has its own bucket
    assert ratelimit.acquire("youtube", "acct-1") == 0.0  # no limit configured
