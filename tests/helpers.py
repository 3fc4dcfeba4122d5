import os
import time

import django_rq
from django.conf import settings as django_settings
from rq import SimpleWorker

from phantoms.engine import queueing
from phantoms.redis import get_redis
from phantoms.resilience.breakers import forget_breakers

# The lost-answer runs per platform in tests/platforms: 100 in the suite, 1,000 in `make chaos`.
LOST_ANSWER_RUNS = int(os.environ.get("PHANTOMS_LOST_ANSWER_RUNS", "100"))


def flush_redis():
    get_redis().flushdb()
    forget_breakers()


def fast_pipeline_settings(settings, sandbox_url: str):
    settings.SANDBOX_URL = sandbox_url
    settings.PLATFORM_BASE_URLS = {}  # every platform at its sandbox prefix under SANDBOX_URL
    settings.OPENAI_BASE_URL = f"{sandbox_url}/sandbox/openai/v1"
    settings.RENDER_SERVICE_URL = f"{sandbox_url}/sandbox/render/v1"
    settings.PEXELS_BASE_URL = f"{sandbox_url}/sandbox/pexels"
    settings.SANDBOX_PROCESSING_SECONDS = 0.2
    settings.SANDBOX_TIMEOUT_SECONDS = 2.0
    settings.HTTP_TIMEOUTS = {"connect": 1.0, "read": 1.0}
    settings.PUBLISH_POLL_INTERVAL = 0.3
    settings.BACKOFF_BASE = 0.05
    settings.BACKOFF_CAP = 0.3
    settings.METRIC_READBACK_OFFSETS = [0, 1]
    settings.LEASE_SECONDS = 30
    settings.STAGE_RETRY_WINDOWS = {}  # tests about dead letters reach them by the attempt budget alone
    settings.RATE_LIMITS = {}
    forget_breakers()


def queues():
    return [django_rq.get_queue(name) for name in django_settings.PIPELINE_QUEUES]


def promote_due_jobs():
    queueing.promote_due_jobs([q.name for q in queues()], django_rq.get_connection("script"))


def pending_jobs() -> int:
    total = 0
    for queue in queues():
        total += queue.count + queue.scheduled_job_registry.count
    return total


def drain(until=None, timeout: float = 60.0, worker_class=SimpleWorker):
    """Run in-process burst workers over every queue, scheduled jobs included, until `until()` or idle."""
    deadline = time.monotonic() + timeout
    connection = django_rq.get_connection("script")
    worker = worker_class(queues(), connection=connection)
    while time.monotonic() < deadline:
        promote_due_jobs()
        worker.work(burst=True, logging_level="WARNING")
        if until is not None and until():
            return True
        if until is None and pending_jobs() == 0:
            return True
        time.sleep(0.05)
    return False


_TINY_MASTER: list[bytes] = []


def write_tiny_master(path) -> None:
    """A real 3 s 360x640 H.264/AAC master (Instagram's minimum), about 1 MB so an upload spans several
    256 KiB chunks, made once per test process: the publish stage probes the master for its renditions,
    so stand-in bytes will not do."""
    import subprocess
    import tempfile
    from pathlib import Path

    from pipeline.media.ffmpeg import ffmpeg_exe

    if not _TINY_MASTER:
        with tempfile.TemporaryDirectory() as folder:
            made = Path(folder) / "master.mp4"
            subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                            "-f", "lavfi", "-i", "testsrc2=s=360x640:r=30:d=3", "-f", "lavfi", "-i", "sine=d=3",
                            "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "2500k", "-pix_fmt", "yuv420p",
                            "-c:a", "aac", "-shortest", str(made)], check=True)
            _TINY_MASTER.append(made.read_bytes())
    Path(path).write_bytes(_TINY_MASTER[0])
