"""SIGTERM while rendering: the render finishes or is handed back, no claim outlives its lease, exit 0."""

import os
import signal
import subprocess
import time

import pytest

from phantoms.engine.models import StageAttempt
from pipeline.models import Asset
from tests.chaos.common import platform_channels, submit
from tests.workers import kill_group, start_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.chaos]

# Long enough that a second signal 1.5 s after the first still finds ffmpeg at work.
RENDER_SECONDS = 16  # scripts are now written to length: this is the video's length too
EXIT_BOUND = 45.0  # the rest of a short render on a loaded machine, and the scheduler's stop


def rendering(pk):
    return Asset.objects.filter(pk=pk, state=Asset.State.RENDERING, lease_owner__gt="", render_progress__gt=0).exists()


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def sigterm_while_rendering(sandbox, *, whole_group: bool = False, twice: bool = False):
    channel = platform_channels()["youtube"]
    [pk] = submit(1, lambda i: [channel], providers={"voice": "silence", "render": "ffmpeg"},
                 seconds=RENDER_SECONDS)
    worker = start_worker(sandbox, ["script", "voice", "visuals", "render"])
    try:
        assert wait_for(lambda: rendering(pk), timeout=90, every=0.05), Asset.objects.get(pk=pk).state
        if whole_group:
            os.killpg(worker.pid, signal.SIGTERM)  # a terminal's Ctrl-C or systemd: ffmpeg is told too
        else:
            worker.send_signal(signal.SIGTERM)  # `docker stop`, `kill PID`: the worker alone
        if twice:
            time.sleep(1.5)  # rq ignores a repeat within a second
            worker.send_signal(signal.SIGTERM)  # the impatient operator: cold shutdown
        started = time.monotonic()
        try:
            code = worker.wait(timeout=EXIT_BOUND)
        except subprocess.TimeoutExpired:
            code = None
        elapsed = time.monotonic() - started
        assert code == 0, (code, elapsed)
        assert wait_for(lambda: not group_alive(worker.pid), timeout=10), "the scheduler outlived its worker"
    finally:
        kill_group(worker)
    asset = Asset.objects.get(pk=pk)
    # Whatever happened, the process that is gone holds no claim: nobody waits out a lease.
    assert asset.lease_owner == "" and asset.lease_expires_at is None
    assert not StageAttempt.objects.filter(asset=pk, outcome=StageAttempt.Outcome.RUNNING).exists()
    return asset, elapsed


def test_sigterm_to_the_worker_lets_the_render_finish(sandbox):
    asset, _ = sigterm_while_rendering(sandbox, whole_group=False)
    assert asset.state == Asset.State.AWAITING_REVIEW
    assert list(asset.stage_attempts.filter(stage="render").values_list("outcome", flat=True)) == ["succeeded"]


@pytest.mark.parametrize("how", ["process group", "twice"])
def test_sigterm_that_stops_the_render_hands_it_back(sandbox, how):
    asset, _ = sigterm_while_rendering(sandbox, whole_group=how == "process group", twice=how == "twice")
    # ffmpeg was stopped too (by the group's signal, or by the cold shutdown): the render is handed
    # back at once, not blamed on the provider and not left claimed until its lease runs out.
    assert asset.state == Asset.State.RENDERING and asset.attempts == 0 and not asset.dead_letters.exists()
    [attempt] = asset.stage_attempts.filter(stage="render")
    assert attempt.outcome == "transient" and "interrupted" in attempt.error
    # A job is waiting for the next worker, and that worker finishes the render.
    worker = start_worker(sandbox, ["render"])
    try:
        assert wait_for(lambda: Asset.objects.filter(pk=asset.pk, state="awaiting_review").exists(), timeout=90)
    finally:
        kill_group(worker)
