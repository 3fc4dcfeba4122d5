"""Real worker processes for tests that need the OS: SIGKILL, SIGTERM, separate Redis clients."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

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
        "RATE_YOUTUBE_PER_DAY": "100000",
        "RATE_TIKTOK_PER_MINUTE": "100000",
        "RATE_INSTAGRAM_PER_DAY": "100000",
        "RQ_LOG_LEVEL": "WARNING",
        "LOG_LEVEL": "WARNING",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_worker(sandbox_url: str, queues=None, *, burst: bool = False, **extra) -> subprocess.Popen:
    queues = queues or list(settings.PIPELINE_QUEUES)
    cmd = [sys.executable, str(ROOT / "manage.py"), "rqworker", *queues,
           "--worker-class", "phantoms.worker.Worker", "--with-scheduler"]
    if burst:
        cmd.append("--burst")
    return subprocess.Popen(cmd, env=worker_env(sandbox_url, **extra), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kill(process: subprocess.Popen, sig=signal.SIGKILL, timeout: float = 30):
    if process.poll() is None:
        process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
