"""Real worker processes for tests that need the OS: SIGKILL, SIGTERM, separate Redis clients."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, connection

from publishing import platforms

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The URL of the database this test is using (the test database), for a subprocess."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


def worker_env(sandbox_url: str, **extra) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "phantoms.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "PHANTOMS_SANDBOX": "1",
        "PHANTOMS_SANDBOX_URL": sandbox_url,
        "PHANTOMS_VAR_DIR": str(settings.VAR_DIR),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PHANTOMS_LEASE_SECONDS": "4",
        "PHANTOMS_PUBLISH_POLL_INTERVAL": "0.3",
        "PHANTOMS_BACKOFF_BASE": "0.05",
        "PHANTOMS_BACKOFF_CAP": "0.3",
        "PHANTOMS_METRIC_OFFSETS": "0,1",
        "HTTP_READ_TIMEOUT": "1.0",
        **{f"RATE_{p.upper()}_CALLS": "100000" for p in platforms.names()},
        "RQ_LOG_LEVEL": "WARNING",
        **{f"PHANTOMS_RETRY_WINDOW_{stage.upper()}": "0" for stage in settings.STAGE_RETRY_WINDOWS},
        "LOG_LEVEL": "WARNING",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_worker(sandbox_url: str, queues=None, **extra) -> subprocess.Popen:
    """A real worker in its own process group: rq forks its scheduler as a second process, which a
    SIGKILL of the worker alone would leave running."""
    queues = queues or list(settings.PIPELINE_QUEUES)
    logs = settings.VAR_DIR / "worker-logs"
    logs.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(ROOT / "manage.py"), "rqworker", *queues,
           "--worker-class", "phantoms.worker.Worker", "--with-scheduler"]
    with open(logs / f"worker-{time.time_ns()}.log", "wb") as log:
        return subprocess.Popen(cmd, env=worker_env(sandbox_url, **extra), cwd=ROOT, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def kill_group(process: subprocess.Popen, sig=signal.SIGKILL, timeout: float = 30):
    """Signal the worker and its scheduler together (a crashed machine takes both)."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # whatever is left of the group
    except ProcessLookupError:
        pass
    if process.poll() is None:
        process.wait(timeout=5)


def wait_for(predicate, timeout: float, every: float = 0.1, between=None) -> bool:
    """Poll `predicate` (with fresh connections: subprocess workers write the rows) until true or timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        close_old_connections()
        if predicate():
            return True
        if between:
            between()
        time.sleep(every)
    return False


def stop_when_idle(process: subprocess.Popen, timeout: float = 60):
    """SIGSTOP a worker once it waits for jobs: Redis still hands it the next job pushed to its queues
    (its BLPOP is registered with the server), which then sits in a process that does nothing."""
    from rq import Worker

    from phantoms.redis import get_redis

    def idle():
        return any(w.pid == process.pid and w.get_state() == "idle" for w in Worker.all(connection=get_redis()))

    assert wait_for(idle, timeout=timeout, every=0.1), "the worker never became idle"
    time.sleep(0.5)  # from `idle` into its blocking pop
    os.kill(process.pid, signal.SIGSTOP)


def resume(process: subprocess.Popen):
    os.kill(process.pid, signal.SIGCONT)
