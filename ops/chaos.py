"""The chaos scenario behind `manage.py chaos` (`make chaos`).

Faults go onto every sandbox platform, a batch of briefs runs to review and is approved as it
arrives, and once every asset has settled the faults are cleared, this run's dead letters requeued
and the batch waited for again. The report says what came out: published, dead-lettered, lost
(never settled), posts and double posts in the sandbox's ledger, breaker trips and the calls the
breakers saved.

The scenario drives whatever system shares this process's DATABASE_URL and REDIS_URL. `LocalSystem`
starts one (web with the sandbox, workers, scheduler) for a run when no worker is alive.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError, close_old_connections
from django.test.utils import override_settings
from django.utils import timezone

from ops.sandbox_accounts import connect_sandbox_account
from phantoms.engine.models import BreakerEvent, DeadLetter
from phantoms.engine.selectors import breaker_states, state_counts
from phantoms.engine.services.dead_letters import requeue
from phantoms.redis import get_redis
from pipeline.models import Asset
from pipeline.services.briefs import submit_brief
from pipeline.services.review import ReviewError, approve_asset
from publishing import platforms
from publishing.models import Channel, Publication
from sandbox import faults
from sandbox.models import SandboxPost

PLATFORMS = tuple(platforms.names())
SETTLED = (Asset.State.PUBLISHED, Asset.State.PARTIALLY_PUBLISHED, Asset.State.FAILED, Asset.State.REJECTED,
           Asset.State.CANCELLED)
BRIEFS = (
    "Three habits that make mornings easier",
    "Why cold brew tastes smoother than hot coffee",
    "A one-minute stretch for people who sit all day",
    "How to keep basil alive on a windowsill",
    "The trick to remembering names at a party",
)


@dataclass
class ChaosConfig:
    assets: int = 40
    error_rate: float = 0.3
    rate_limit_rate: float = 0.1
    accept_then_timeout_rate: float = 0.1
    # Seconds a sandbox 429 asks the client to wait.
    retry_after: int = 1
    outage: tuple[str, float] | None = None
    # Seconds to wait for the batch to settle, in each of the two phases.
    timeout: float = 900.0
    real_render: bool = False
    channels_per_asset: int = 2
    seconds_per_video: int = 5

    def __post_init__(self):
        if self.assets < 1:
            raise ValueError("assets: at least one")
        for name in ("error_rate", "rate_limit_rate", "accept_then_timeout_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name}: between 0 and 1")
        if self.error_rate + self.rate_limit_rate + self.accept_then_timeout_rate > 1.0:
            raise ValueError("error, rate-limit and accept-then-timeout rates must add up to at most 1")
        if self.outage and (self.outage[0] not in PLATFORMS or self.outage[1] <= 0):
            raise ValueError(f"outage: PLATFORM:SECONDS with a platform among {', '.join(PLATFORMS)}")
        if not 1 <= self.channels_per_asset <= len(PLATFORMS):
            raise ValueError(f"channels per asset: 1 to {len(PLATFORMS)}")


@dataclass
class Snapshot:
    """Where this run's assets stand at one moment."""

    states: Counter
    open_letters: int
    failed_publications: int

    def count(self, *states) -> int:
        return sum(self.states.get(state, 0) for state in states)


@dataclass
class ChaosReport:
    config: ChaosConfig
    assets_in: int
    publications: int
    first: Snapshot
    final: Snapshot
    requeued: int
    posts: int
    duplicates: int
    breaker_trips: int
    calls_saved: int
    elapsed: float
    duplicated: list = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.assets_in - self.final.count(*SETTLED)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicates == 0

    def lines(self) -> list[str]:
        c = self.config
        faults = (f"{c.error_rate:.0%} errors, {c.rate_limit_rate:.0%} 429s, "
                  f"{c.accept_then_timeout_rate:.0%} accept-then-timeout on {', '.join(PLATFORMS)}")
        if c.outage:
            faults += f"; {c.outage[0]} down for {c.outage[1]:g} s"
        first, final = self.first, self.final

        def both(*states):
            return f"{first.count(*states):>5} -> {final.count(*states)}"

        lines = [
            f"chaos: {faults}",
            f"  assets in                {self.assets_in:>5}   ({self.publications} publications)",
            f"  published                {both(Asset.State.PUBLISHED)}   (before -> after requeue)",
            f"  partially published      {both(Asset.State.PARTIALLY_PUBLISHED)}",
            f"  failed (dead-lettered)   {both(Asset.State.FAILED)}",
            f"  open dead letters        {first.open_letters:>5} -> {final.open_letters}   "
            f"({self.requeued} requeued)",
            f"  lost (never settled)     {self.lost:>5}",
            f"  posts in the ledger      {self.posts:>5}",
            f"  duplicate posts          {self.duplicates:>5}",
            f"  breaker trips            {self.breaker_trips:>5}",
            f"  calls saved by breakers  {self.calls_saved:>5}",
            f"  elapsed                  {self.elapsed:>7.1f} s",
        ]
        lines += [f"  double post: {d['platform']} {d['asset_ref']} x{d['count']}" for d in self.duplicated]
        lines.append("OK: nothing lost, nothing posted twice" if self.ok else "FAILED: assets lost or posted twice")
        return lines


def ensure_channels() -> list[Channel]:
    channels = []
    for platform in PLATFORMS:
        label = dict(Channel._meta.get_field("platform").choices)[platform]
        channel, _ = Channel.objects.get_or_create(
            platform=platform, account_id=f"chaos-{platform}",
            defaults={"name": f"Chaos {label}"})
        connect_sandbox_account(channel)
        if not channel.is_active:
            channel.is_active = True
            channel.save(update_fields=["is_active"])
        channels.append(channel)
    return channels


def _rejected_calls() -> int:
    return sum(row.get("rejected_calls", 0) for row in breaker_states())


def snapshot(pks) -> Snapshot:
    close_old_connections()
    states = Counter(state_counts(Asset.objects.filter(pk__in=pks)))
    open_letters = DeadLetter.objects.filter(asset__in=pks, status=DeadLetter.Status.OPEN).count()
    failed = Publication.objects.filter(asset__in=pks).filter(
        state__in=[Publication.State.FAILED, Publication.State.NEEDS_ATTENTION]).count()
    return Snapshot(states, open_letters, failed)


def ledger(pks, since) -> tuple[int, list]:
    """Posts the sandbox accepted during the run, and the posts made twice.

    The real protocols carry no reference of ours, so the ledger knows a post by a fingerprint of its
    account, words and bytes (sandbox/views/platforms/common.py): two posts with one fingerprint are
    one asset posted twice on that platform."""
    rows = list(SandboxPost.objects.filter(accepted_at__gte=since).values_list("platform", "asset_ref"))
    doubles = [{"platform": p, "asset_ref": ref, "count": n} for (p, ref), n in sorted(Counter(rows).items()) if n > 1]
    return len(rows), doubles


class Scenario:
    """One run. `tick` is called between looks at the database (sleep, or drive an in-process worker)."""

    def __init__(self, config: ChaosConfig, *, tick: Callable[[], None] | None = None,
                 say: Callable[[str], None] = print, every: float = 15.0):
        self.config = config
        self.tick = tick or (lambda: time.sleep(1.0))
        self.say = say
        self.every = every
        self.run_id = uuid.uuid4().hex[:8]
        self.pks: list[int] = []
        self.outage_ends: float | None = None

    def run(self) -> ChaosReport:
        config = self.config
        started_at, started = timezone.now(), time.monotonic()
        rejected_before = _rejected_calls()
        channels = ensure_channels()
        self.set_faults()
        self.submit(channels)
        self.say(f"submitted {len(self.pks)} assets (run {self.run_id}); waiting for them to settle")
        self.wait(started)
        first = snapshot(self.pks)
        self.clear_faults()
        requeued = self.requeue()
        self.say(f"faults cleared; requeued {requeued} dead letter(s); waiting again")
        self.wait(time.monotonic())
        final = snapshot(self.pks)
        posts, doubles = ledger(self.pks, started_at)
        return ChaosReport(
            config=config, assets_in=len(self.pks),
            publications=Publication.objects.filter(asset__in=self.pks).count(),
            first=first, final=final, requeued=requeued, posts=posts,
            duplicates=sum(d["count"] - 1 for d in doubles), duplicated=doubles,
            breaker_trips=BreakerEvent.objects.filter(to_state="open", at__gte=started_at).count(),
            calls_saved=max(0, _rejected_calls() - rejected_before),
            elapsed=time.monotonic() - started,
        )

    def set_faults(self):

        c = self.config
        for platform in PLATFORMS:
            faults.set_faults(platform, error_rate=c.error_rate, rate_limit_rate=c.rate_limit_rate,
                              accept_then_timeout_rate=c.accept_then_timeout_rate, retry_after=c.retry_after)
        if c.outage:
            faults.set_faults(c.outage[0], outage=True)
            self.outage_ends = time.monotonic() + c.outage[1]

    def clear_faults(self):

        for platform in PLATFORMS:
            faults.clear_faults(platform)
        self.outage_ends = None

    def submit(self, channels):
        c = self.config
        providers = {"voice": "silence", "visuals": "offline" if c.real_render else "plain",
                     "render": "ffmpeg" if c.real_render else "instant"}
        # A chaos run measures publishing under faults, so it takes the benchmark-only providers.
        with override_settings(BENCHMARK_PROVIDERS=True):
            self._submit(channels, providers)

    def _submit(self, channels, providers):
        c = self.config
        for i in range(c.assets):
            targets = [channels[(i + k) % len(channels)] for k in range(c.channels_per_asset)]
            asset, _ = submit_brief(brief=f"{BRIEFS[i % len(BRIEFS)]} (chaos {self.run_id} #{i + 1})",
                                    channels=targets, target_duration_seconds=c.seconds_per_video,
                                    providers=providers, idempotency_key=f"chaos-{self.run_id}-{i}")
            self.pks.append(asset.pk)

    def requeue(self) -> int:
        letters = DeadLetter.objects.filter(asset__in=self.pks, status=DeadLetter.Status.OPEN).order_by("id")
        return sum(requeue(letter.pk, user="manage.py chaos").requeued for letter in letters)

    def wait(self, since: float):
        """Approve what reaches review, end an outage on time, until every asset settles or time is up."""
        deadline = since + self.config.timeout
        last_said = time.monotonic()
        while True:
            close_old_connections()
            if self.outage_ends is not None and time.monotonic() >= self.outage_ends:

                faults.set_faults(self.config.outage[0], outage=False)
                self.outage_ends = None
                self.say(f"{self.config.outage[0]} is back")
            for pk in Asset.objects.filter(pk__in=self.pks, state=Asset.State.AWAITING_REVIEW).values_list(
                    "pk", flat=True):
                try:
                    approve_asset(pk, notes=f"chaos {self.run_id}")
                except ReviewError:
                    pass  # approved meanwhile (PHANTOMS_AUTO_APPROVE, or an editor)
                except OperationalError as exc:  # SQLite's "database is locked" under load: next round
                    self.say(f"  could not approve asset {pk} yet: {exc}")
            now = snapshot(self.pks)
            if now.count(*SETTLED) == len(self.pks) or time.monotonic() >= deadline:
                return
            if time.monotonic() - last_said >= self.every:
                last_said = time.monotonic()
                self.say(f"  {time.monotonic() - since:5.0f} s: " +
                         ", ".join(f"{state} {n}" for state, n in sorted(now.states.items())))
            self.tick()


def workers_alive() -> bool:
    from rq import Worker

    return bool(Worker.all(connection=get_redis()))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalSystem:
    """The processes `manage.py demo` runs (web with the sandbox, workers per queue group, scheduler),
    on a free port, with time compressed for a chaos run: short backoffs, polls and breaker timeouts,
    and platform quotas out of the way (the run is about faults, not quotas). Any of these can be
    overridden from the environment."""

    WORKER_GROUPS = [["script", "voice", "visuals"], ["render"], ["publish", "analytics"], ["publish"],
                     ["housekeeping"]]

    def __init__(self, say: Callable[[str], None] = print):
        self.say = say
        self.children: list[subprocess.Popen] = []
        self.commands: list[list[str]] = []
        self.logs = Path(settings.VAR_DIR) / "chaos-logs"
        self.kills = 0

    def env(self, base: str) -> dict:
        fast = {
            "PHANTOMS_RECONCILE_INTERVAL": "10",
            "PHANTOMS_RECONCILE_GRACE": "5",
            # A killed worker's claims lapse sooner (renders renew theirs as they report progress).
            "PHANTOMS_LEASE_SECONDS": "20",
            "PHANTOMS_PUBLISH_POLL_INTERVAL": "1",
            "PHANTOMS_BACKOFF_BASE": "0.5",
            "PHANTOMS_BACKOFF_CAP": "10",
            "PHANTOMS_METRIC_OFFSETS": "60,600,3600",
            "SANDBOX_PROCESSING_SECONDS": "0.5",
            **{f"RATE_{p.upper()}_CALLS": "100000" for p in PLATFORMS},
            # One token per platform posting this much: lift the sandbox's per-token limits and quota.
            **{name: "100000" for name in ("SANDBOX_TIKTOK_INITS_PER_MINUTE", "SANDBOX_TIKTOK_STATUS_PER_MINUTE",
                                           "SANDBOX_TIKTOK_CREATOR_INFO_PER_MINUTE", "SANDBOX_YOUTUBE_UPLOADS_PER_DAY",
                                           "YOUTUBE_QUOTA_INSERTS_PER_DAY")},
            "LOG_LEVEL": "WARNING",
            **{f"BREAKER_{p.upper()}_RESET_TIMEOUT": "5" for p in PLATFORMS},
        }
        return {**fast, **os.environ, "REDIS_URL": settings.REDIS_URL, "PHANTOMS_SANDBOX": "1",
                "PHANTOMS_SANDBOX_URL": base}

    def __enter__(self):
        call_command("migrate", interactive=False, verbosity=0)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = self.env(base)
        self.manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        self.process_env = env
        commands = [self.manage + ["serve", "--listen", f"127.0.0.1:{port}"]]
        commands += [self._worker_command(n, group) for n, group in enumerate(self.WORKER_GROUPS)]
        commands.append(self.manage + ["rqcron", "phantoms.cron"])
        self.commands = commands
        self.logs.mkdir(parents=True, exist_ok=True)
        self.children = [self._start(n, cmd) for n, cmd in enumerate(commands)]
        self.say(f"started web + sandbox on {base}, {len(self.WORKER_GROUPS)} workers and the scheduler "
                 f"(logs in {self.logs})")
        try:
            self._wait_ready(base)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _worker_command(self, n: int, group: list[str], generation: int = 0) -> list[str]:
        # A new name for a replacement: the killed worker's registration outlives it for a while.
        name = f"chaos-{n}-{'-'.join(group)}-{os.getpid()}" + (f"-r{generation}" if generation else "")
        return self.manage + ["rqworker", *group, "--worker-class", "phantoms.worker.Worker", "--with-scheduler",
                              "--name", name]

    def _start(self, n: int, cmd: list[str]) -> subprocess.Popen:
        env = self.process_env
        if n == 0:  # the web process: its connection pool (README, "Database connections")
            env = {**env, "PHANTOMS_DB_POOL": "on", "PHANTOMS_DB_APPLICATION_NAME": "phantoms-web"}
        with open(self.logs / f"system-{os.getpid()}-{n}.log", "ab") as log:
            # Own session: a scheduler forked by a worker goes down with it.
            return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill_a_worker(self, rng) -> str:
        """SIGKILL one stage worker and its scheduler, whatever it is doing (popping a job, between the
        pop and the claim, mid-stage), and start another in its place. Returns its queues."""
        stage_groups = [n for n, group in enumerate(self.WORKER_GROUPS) if group != ["housekeeping"]]
        n = rng.choice(stage_groups)
        index = n + 1  # after the web process
        try:
            os.killpg(self.children[index].pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.children[index].wait(timeout=10)
        self.kills += 1
        self.commands[index] = self._worker_command(n, self.WORKER_GROUPS[n], self.kills)
        self.children[index] = self._start(index, self.commands[index])
        return " ".join(self.WORKER_GROUPS[n])

    def _wait_ready(self, base: str):
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200 and workers_alive():
                    return
            except httpx.HTTPError:
                pass
            if any(child.poll() is not None for child in self.children):
                raise RuntimeError(f"a process exited while starting; see {self.logs}")
            time.sleep(0.5)
        raise RuntimeError(f"the system did not become ready at {base}")

    def __exit__(self, *exc):
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)  # warm shutdown: current jobs finish
        for child in self.children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if child.poll() is None:
                child.wait(timeout=5)
        self.children = []
        return False
