"""What the chaos tests share: channels on every platform, fast briefs, waiting on the database."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.db import close_old_connections

from pipeline.models import Asset
from pipeline.services.briefs import submit_brief
from pipeline.services.review import approve_asset
from publishing.models import Publication
from tests.factories import make_channel
from tests.helpers import drain
from tests.workers import ROOT, worker_env

PLATFORMS = ("youtube", "tiktok", "instagram", "x")
# Publishing is the stage under test: silence and a copied one-second MP4 keep the earlier stages cheap.
FAST = {"voice": "silence", "render": "instant"}


def platform_channels() -> dict:
    return {platform: make_channel(platform) for platform in PLATFORMS}


def submit(count: int, channels_for, *, providers=None, prefix="Chaos brief", seconds: int = 5) -> list[int]:
    """Submit `count` short briefs; `channels_for(i)` lists the channels of the i-th."""
    return [
        submit_brief(brief=f"{prefix} number {i}", channels=channels_for(i), target_duration_seconds=seconds,
                     providers=dict(FAST if providers is None else providers))[0].pk
        for i in range(count)
    ]


def states(model, **filters) -> dict:
    counts: dict = {}
    for state in model.objects.filter(**filters).values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    return counts


def all_in(model, pks, state) -> bool:
    return not model.objects.filter(pk__in=pks).exclude(state=state).exists()


def review_all(pks, timeout: float = 120.0):
    """Drain in-process until every asset awaits review, then approve each."""
    assert drain(lambda: all_in(Asset, pks, Asset.State.AWAITING_REVIEW), timeout=timeout), states(Asset, pk__in=pks)
    for pk in pks:
        approve_asset(pk, notes="chaos")
    return list(Publication.objects.filter(asset__in=pks).values_list("pk", flat=True))


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


def start_worker(sandbox_url: str, queues=None, **extra) -> subprocess.Popen:
    """A real worker in its own process group: rq forks its scheduler as a second process, which a
    SIGKILL of the worker alone would leave running."""
    queues = queues or list(settings.PIPELINE_QUEUES)
    logs = settings.VAR_DIR / "chaos-logs"
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
