"""One circuit breaker per integration, its state shared by every process through Redis.

pybreaker does the counting; this module covers its edges (docs/architecture.md, "Breakers"):
- it counts every exception, so failures that say nothing about the provider's health
  (permanent errors, rate limits) are excluded;
- its Redis storage reports "closed" when Redis cannot be read, which would let every worker
  hammer a provider that is down: an unreadable breaker defers the job instead;
- its half-open probe is not coordinated across processes: a Redis lock lets exactly one
  process make the trial call while the others defer;
- its Redis storage starts a breaker whose keys are missing (a flushed or replaced Redis) closed,
  which would send every worker to a provider in the middle of its outage: a missing state is
  rebuilt from the recorded BreakerEvents instead (an open breaker stays open until its reset time);
- a call that fails after another process has opened the breaker (it was in flight when the outage
  was recognised) is news about the provider, not about the job: it is raised as BreakerOpen, so the
  runner defers the row without charging it an attempt.
"""

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pybreaker
from django.conf import settings
from redis.exceptions import RedisError

from phantoms.engine.models import BreakerEvent
from phantoms.redis import get_redis

from .errors import BreakerOpen, ProviderError, TransientError

logger = logging.getLogger("phantoms.breakers")

NAMESPACE = "phantoms:breaker"
# A probe lock outlives the slowest trial call we allow, so a crashed prober cannot wedge it.
PROBE_LOCK_SECONDS = 120
# How long a job waits when another process holds the probe or Redis is unreachable.
PROBE_BUSY_RETRY = 2.0


def _counts_as_healthy(exc: BaseException) -> bool:
    """pybreaker's `exclude`: True for errors that must not count toward tripping."""
    return isinstance(exc, ProviderError) and not exc.counts_toward_breaker


def recorded_state(name: str) -> tuple[str, datetime | None]:
    """The breaker's state by its last recorded change: (state, opened_at).

    Open stays open from the moment it was recorded. Half-open (a probe whose verdict was never
    recorded) is taken as open since then, so the next probe waits a full reset timeout.
    """
    last = BreakerEvent.objects.filter(name=name).order_by("-at", "-id").values_list("to_state", "at").first()
    if last is None or last[0] == pybreaker.STATE_CLOSED:
        return pybreaker.STATE_CLOSED, None
    return pybreaker.STATE_OPEN, last[1]


class RecordedRedisStorage(pybreaker.CircuitRedisStorage):
    """pybreaker's Redis storage, with missing keys rebuilt from the recorded events, never assumed closed.

    Failure counts restart from zero after a flush; an open breaker's state and opening time do not.
    Every process rebuilds the same answer from the same rows, and the keys are written only where
    still missing (one MULTI of SET NX), so processes racing to rebuild agree.
    """

    def __init__(self, redis_object, breaker_name: str, namespace: str):
        self.breaker_name = breaker_name
        super().__init__(pybreaker.STATE_CLOSED, redis_object, namespace=namespace)

    def _initialize_redis_state(self, state: str) -> None:
        if self._redis.exists(self._namespace("state")):
            return
        state, opened_at = recorded_state(self.breaker_name)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._namespace("fail_counter"), 0, nx=True)
            pipe.set(self._namespace("success_counter"), 0, nx=True)
            if opened_at is not None:
                pipe.set(self._namespace("opened_at"), int(opened_at.timestamp()), nx=True)
            pipe.set(self._namespace("state"), state, nx=True)
            # What RecordingListener last recorded: a process noticing the rebuilt state records nothing.
            pipe.set(f"{NAMESPACE}:{self.breaker_name}:recorded", state, nx=True)
            pipe.execute()
        if state != pybreaker.STATE_CLOSED:
            logger.warning("breaker %s: state missing from Redis; rebuilt as %s since %s from its events",
                           self.breaker_name, state, opened_at)

    @property
    def state(self) -> str:
        try:
            raw = self._redis.get(self._namespace("state"))
            if raw is None:
                self._initialize_redis_state(pybreaker.STATE_CLOSED)
                raw = self._redis.get(self._namespace("state"))
        except RedisError:
            self.logger.exception("RedisError: falling back to default circuit state")
            return self._fallback_circuit_state
        return raw.decode() if raw else pybreaker.STATE_CLOSED

    @state.setter
    def state(self, state: str) -> None:
        pybreaker.CircuitRedisStorage.state.fset(self, state)


class RecordingListener(pybreaker.CircuitBreakerListener):
    """Writes every state change to the database and the log, with the error that caused it."""

    def __init__(self):
        self._last_error = threading.local()
        self._calls = threading.local()

    def start_call(self):
        self._calls.tripped = False

    def tripped_by_this_call(self) -> bool:
        return getattr(self._calls, "tripped", False)

    @staticmethod
    def _first_to_see(name: str, state: str) -> bool:
        try:
            previous = get_redis().getset(f"{NAMESPACE}:{name}:recorded", state)
        except RedisError:
            return True
        return previous is None or previous.decode() != state

    def failure(self, cb, exc):
        self._last_error.value = str(exc)[:2000]

    def state_change(self, cb, old_state, new_state):
        old = old_state.name if old_state else ""
        if new_state.name == pybreaker.STATE_OPEN:
            self._calls.tripped = True
        if not self._first_to_see(cb.name, new_state.name):
            # pybreaker also calls this when a process merely notices a change another one made (its
            # cached state differs from Redis); one change must be one event, however many workers see it.
            logger.debug("breaker %s: noticed %s -> %s", cb.name, old, new_state.name)
            return
        error = getattr(self._last_error, "value", "") if new_state.name == pybreaker.STATE_OPEN else ""
        logger.warning("breaker %s: %s -> %s %s", cb.name, old, new_state.name, error)
        BreakerEvent.objects.create(name=cb.name, from_state=old, to_state=new_state.name, error=error,
                                    actor=getattr(self._last_error, "actor", ""))
        self._last_error.actor = ""


@dataclass
class BreakerStatus:
    name: str
    state: str
    fail_counter: int
    fail_max: int
    reset_timeout: float
    opened_at: datetime | None
    probe_at: datetime | None
    rejected_calls: int


class Breaker:
    def __init__(self, name: str):
        # A platform registered without its own settings gets the defaults (publishing/platforms/registry.py).
        config = settings.BREAKERS.get(name, settings.BREAKER_DEFAULTS)
        self.name = name
        self.redis = get_redis()
        self.listener = RecordingListener()
        self.storage = RecordedRedisStorage(self.redis, name, namespace=f"{NAMESPACE}:{name}")
        self.cb = pybreaker.CircuitBreaker(
            fail_max=int(config["fail_max"]),
            reset_timeout=float(config["reset_timeout"]),
            success_threshold=int(config["success_threshold"]),
            exclude=[_counts_as_healthy],
            listeners=[self.listener],
            state_storage=self.storage,
            name=name,
            # Re-raise the provider's own error on a trip, so the runner can still classify it.
            throw_new_error_on_trip=False,
        )

    def _key(self, suffix: str) -> str:
        return f"{NAMESPACE}:{self.name}:{suffix}"

    def _read_state(self) -> str:
        try:
            # Read the key pybreaker's storage uses ourselves: its own getter hides Redis errors.
            raw = self.redis.get(self.storage._namespace("state"))
            if raw is None:  # flushed: rebuilt from the recorded events, never assumed closed
                self.storage._initialize_redis_state(pybreaker.STATE_CLOSED)
                raw = self.redis.get(self.storage._namespace("state"))
        except RedisError as exc:
            raise BreakerOpen(f"breaker state unreadable ({exc}); deferring rather than guessing",
                              retry_after=PROBE_BUSY_RETRY, provider=self.name)
        return raw.decode() if raw else pybreaker.STATE_CLOSED

    def seconds_until_probe(self) -> float:
        opened_at = self.storage.opened_at
        if opened_at is None:
            return 0.0
        elapsed = (datetime.now(UTC) - opened_at).total_seconds()
        return max(0.0, self.cb.reset_timeout - elapsed)

    def _note_rejected(self):
        try:
            self.redis.incr(self._key("rejected"))
        except RedisError:
            pass

    def call(self, func, *args, **kwargs):
        """Call `func` through the breaker, or raise BreakerOpen with when to try again."""
        state = self._read_state()
        if state == pybreaker.STATE_CLOSED:
            return self._call(func, *args, **kwargs)
        if state == pybreaker.STATE_OPEN:
            wait = self.seconds_until_probe()
            if wait > 0:
                self._note_rejected()
                raise BreakerOpen(f"{self.name} breaker is open", retry_after=wait, provider=self.name)
        # Open with the timeout elapsed, or half-open: only the holder of the probe lock may call.
        token = uuid.uuid4().hex
        if not self.redis.set(self._key("probe"), token, nx=True, ex=PROBE_LOCK_SECONDS):
            self._note_rejected()
            raise BreakerOpen(f"{self.name} breaker is probing in another process",
                              retry_after=PROBE_BUSY_RETRY, provider=self.name)
        try:
            return self._call(func, *args, **kwargs)
        except TransientError as exc:
            # The trial call found the provider still down and re-opened the breaker. That is news
            # about the provider, not about the job: it waits for the next probe without being
            # charged an attempt, or a long outage would dead-letter work one probe at a time.
            raise BreakerOpen(f"{self.name} is still failing (probe: {exc})",
                              retry_after=max(self.seconds_until_probe(), PROBE_BUSY_RETRY),
                              provider=self.name) from exc
        finally:
            # Release only our own lock (compare-and-delete).
            self.redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end",
                            1, self._key("probe"), token)

    def _call(self, func, *args, **kwargs):
        self.listener.start_call()
        try:
            return self.cb.call(func, *args, **kwargs)
        except pybreaker.CircuitBreakerError as exc:
            # Another process opened it between our read and the call.
            self._note_rejected()
            raise BreakerOpen(f"{self.name} breaker is open: {exc}",
                              retry_after=max(self.seconds_until_probe(), PROBE_BUSY_RETRY), provider=self.name)
        except TransientError as exc:
            if self.listener.tripped_by_this_call() or not self._known_outage():
                raise
            raise BreakerOpen(f"{self.name} failed while its breaker was already open: {exc}",
                              retry_after=max(self.seconds_until_probe(), PROBE_BUSY_RETRY),
                              provider=self.name) from exc

    def _known_outage(self) -> bool:
        try:
            return self._read_state() != pybreaker.STATE_CLOSED
        except BreakerOpen:
            return False

    # --- operator actions (admin, API)
    def force_open(self, actor: str = ""):
        self.listener._last_error.actor = actor
        self.listener._last_error.value = f"opened by {actor or 'an operator'}"
        self.cb.open()

    def force_close(self, actor: str = ""):
        self.listener._last_error.actor = actor
        self.cb.close()

    def reset(self, actor: str = ""):
        self.force_close(actor)
        self.storage.reset_counter()
        self.storage.reset_success_counter()
        self.redis.delete(self._key("probe"), self._key("rejected"))

    def status(self) -> BreakerStatus:
        state = self._read_state()
        opened_at = self.storage.opened_at if state != pybreaker.STATE_CLOSED else None
        probe_at = None
        if opened_at is not None:
            probe_at = datetime.fromtimestamp(opened_at.timestamp() + self.cb.reset_timeout, tz=UTC)
        rejected = int(self.redis.get(self._key("rejected")) or 0)
        return BreakerStatus(self.name, state, self.storage.counter, self.cb.fail_max, self.cb.reset_timeout,
                             opened_at, probe_at, rejected)


_breakers: dict[str, Breaker] = {}
_lock = threading.Lock()


def get_breaker(name: str) -> Breaker:
    with _lock:
        if name not in _breakers:
            _breakers[name] = Breaker(name)
        return _breakers[name]


def all_breakers() -> list[Breaker]:
    return [get_breaker(name) for name in settings.BREAKERS]


def forget_breakers():
    """Drop cached breakers (tests change breaker settings)."""
    _breakers.clear()


def now_ts() -> float:
    return time.time()
