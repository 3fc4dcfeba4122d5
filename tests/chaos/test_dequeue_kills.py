"""Chaos around dequeue: workers on two queues each, killed while Redis hands them jobs and just after.

Some kills are exact (a stopped worker is handed a job, then SIGKILLed: the job is lost at dequeue);
others land at a random moment within 0.3 s of a worker starting to take jobs (before its pop,
between pop and claim, or mid-stage). The figures at the end are exact whatever the kills hit.
"""

import random
import time

import pytest

from phantoms.engine.models import DeadLetter, StageAttempt
from phantoms.engine.services.reconciler import reconcile
from pipeline.models import Asset
from pipeline.services.review import approve_asset
from publishing.models import Publication
from sandbox.services import ledger_summary
from tests.chaos.common import all_in, platform_channels, submit
from tests.chaos.test_lost_at_dequeue import handed_to_a_worker
from tests.workers import kill_group, start_worker, stop_when_idle, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.chaos]

GRACE = 1
ASSETS = 5
CREATIVE = ["script", "voice"]
OUTBOUND = ["publish", "analytics"]


class Reconciler:
    """The scheduler's reconcile job, run by the test between looks; it adds up what it re-enqueued."""

    def __init__(self):
        self.requeued = 0

    def __call__(self):
        counts = reconcile()
        self.requeued += counts["assets"] + counts["publications"]


def test_two_queue_workers_killed_around_dequeue_lose_nothing_and_post_once(sandbox, settings):
    settings.RECONCILE_GRACE = GRACE
    settings.METRIC_READBACK_OFFSETS = []
    rng = random.Random(15)
    channels = platform_channels()
    targets = [channels["x"], channels["youtube"]]
    reconciler = Reconciler()
    lost_at_dequeue = 0
    kills = 0

    def swallow_and_kill(queues, queue, make_work):
        """A stopped worker on `queues` is handed the job `make_work` pushes to `queue`; then it is killed."""
        nonlocal lost_at_dequeue, kills
        victim = start_worker(sandbox, queues)
        try:
            stop_when_idle(victim)
            job_id = make_work()
            assert wait_for(lambda: handed_to_a_worker(queue, job_id), timeout=10)
        finally:
            kill_group(victim)
        lost_at_dequeue += 1
        kills += 1

    def kill_soon_after_start(queues):
        nonlocal kills
        victim = start_worker(sandbox, queues)
        try:
            from rq import Worker

            from phantoms.redis import get_redis

            assert wait_for(lambda: any(w.pid == victim.pid for w in Worker.all(connection=get_redis())),
                            timeout=60, every=0.05)
            time.sleep(rng.uniform(0.0, 0.3))
        finally:
            kill_group(victim)
        kills += 1

    started = time.monotonic()
    pks = []

    def one_brief():
        [pk] = submit(1, lambda i: targets, prefix=f"Dequeue kill {len(pks)}")
        pks.append(pk)
        return Asset.objects.get(pk=pk).job_id

    # Script jobs lost at dequeue, then workers killed around their first pops while the
    # reconciler brings the lost jobs back.
    swallow_and_kill(CREATIVE, "script", one_brief)
    swallow_and_kill(CREATIVE, "script", one_brief)
    submit_rest = [one_brief() for _ in range(ASSETS - len(pks))]
    assert len(submit_rest) == ASSETS - 2
    time.sleep(GRACE)
    reconciler()
    for _ in range(2):
        kill_soon_after_start(CREATIVE)
        reconciler()

    steady = [start_worker(sandbox, CREATIVE), start_worker(sandbox, ["visuals", "render"])]
    try:
        assert wait_for(lambda: all_in(Asset, pks, Asset.State.AWAITING_REVIEW), timeout=90, every=0.3,
                        between=reconciler), list(Asset.objects.filter(pk__in=pks).values_list("state", "job_id"))
    finally:
        for worker in steady:
            kill_group(worker)

    # Publish jobs lost at dequeue: an approval while a stopped worker on two queues waits; it is
    # handed one of the asset's two publish jobs (whichever Redis pushed first).
    for pk in pks[:2]:
        def make_work(pk=pk):
            approve_asset(pk)
            jobs = list(Publication.objects.filter(asset=pk).values_list("job_id", flat=True))
            assert wait_for(lambda: any(handed_to_a_worker("publish", j) for j in jobs), timeout=10)
            return next(j for j in jobs if handed_to_a_worker("publish", j))
        swallow_and_kill(OUTBOUND, "publish", make_work)
    for pk in pks[2:]:
        approve_asset(pk)
    kill_soon_after_start(OUTBOUND)
    reconciler()

    steady = [start_worker(sandbox, OUTBOUND), start_worker(sandbox, OUTBOUND)]
    try:
        assert wait_for(lambda: all_in(Asset, pks, Asset.State.PUBLISHED), timeout=90, every=0.3,
                        between=reconciler), list(Publication.objects.values_list("state", "job_id", "last_error"))
    finally:
        for worker in steady:
            kill_group(worker)
    reconciler()  # closes any attempt a kill left running
    elapsed = time.monotonic() - started

    publications = Publication.objects.filter(asset__in=pks)
    assert (kills, lost_at_dequeue) == (7, 4)
    assert reconciler.requeued >= lost_at_dequeue
    # Every asset terminal (published), nothing stuck, each effect once.
    assert Asset.objects.filter(pk__in=pks, state=Asset.State.PUBLISHED).count() == ASSETS
    assert publications.count() == 2 * ASSETS and all_in(Publication, publications, Publication.State.PUBLISHED)
    assert not Asset.objects.filter(lease_owner__gt="").exists()
    assert not publications.filter(lease_owner__gt="").exists()
    assert not StageAttempt.objects.filter(outcome=StageAttempt.Outcome.RUNNING).exists()
    assert not DeadLetter.objects.exists()
    for pk in pks:
        for stage in ("script", "voice", "visuals", "render"):
            assert StageAttempt.objects.filter(asset=pk, stage=stage, outcome="succeeded").count() == 1, (pk, stage)
    for publication in publications:
        assert StageAttempt.objects.filter(publication=publication, stage="publish",
                                           outcome="succeeded").count() == 1
    ledger = ledger_summary()
    assert (ledger["posts"], ledger["duplicates"]) == (2 * ASSETS, 0), ledger["duplicated_assets"]
    assert elapsed < 240
