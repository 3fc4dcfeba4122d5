"""Jobs that Redis handed to a worker which never started them, and a Redis flush during an outage.

Deterministic reproductions: a worker is stopped (SIGSTOP) while it waits in its blocking pop, so the
next job pushed to its queues is handed to it and goes nowhere; it is then killed, or left stopped.
The database knows the row's job is due and unclaimed, and the reconciler gives it a new one.
"""

import time

import django_rq
import pytest
from rq.job import Job, JobStatus

from phantoms.engine import runner
from phantoms.engine.models import DeadLetter, StageAttempt, TransitionLog
from phantoms.engine.services.reconciler import reconcile
from phantoms.resilience.breakers import forget_breakers, get_breaker
from pipeline.models import Asset
from pipeline.services.review import approve_asset
from publishing.models import Publication
from publishing.stages import PUBLISH
from sandbox.faults import call_count, clear_faults, set_faults
from sandbox.services import ledger_summary
from tests.chaos.common import all_in, platform_channels, review_all, submit
from tests.helpers import drain, flush_redis
from tests.workers import kill_group, resume, start_worker, stop_when_idle, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.chaos]

GRACE = 2


def handed_to_a_worker(queue_name: str, job_id: str) -> bool:
    """Popped from its queue, never started: `queued` in no queue and no registry."""
    queue = django_rq.get_queue(queue_name)
    job = Job.fetch(job_id, connection=queue.connection)
    return (job.get_status() == JobStatus.QUEUED and job_id not in queue.job_ids
            and job_id not in queue.started_job_registry and job_id not in queue.scheduled_job_registry)


def test_a_two_queue_worker_killed_between_dequeue_and_start_loses_nothing(sandbox, settings):
    settings.RECONCILE_GRACE = GRACE
    channel = platform_channels()["x"]
    victim = start_worker(sandbox, ["script", "voice"])
    try:
        stop_when_idle(victim)
        [pk] = submit(1, lambda i: [channel])  # its script job goes straight to the stopped worker
        lost = Asset.objects.get(pk=pk).job_id
        assert wait_for(lambda: handed_to_a_worker("script", lost), timeout=10)
    finally:
        kill_group(victim)
    assert handed_to_a_worker("script", lost)  # and so it stays, for ever, without the database

    survivor = start_worker(sandbox, ["script", "voice", "visuals", "render"])
    try:
        started = time.monotonic()
        assert wait_for(lambda: all_in(Asset, [pk], Asset.State.AWAITING_REVIEW), timeout=GRACE + 40,
                        every=0.3, between=reconcile), Asset.objects.values_list("state", "job_id").get(pk=pk)
        took = time.monotonic() - started
    finally:
        kill_group(survivor)

    assert took < GRACE + 40
    for stage in ("script", "voice", "visuals", "render"):
        assert list(StageAttempt.objects.filter(asset=pk, stage=stage).values_list("outcome", flat=True)) == [
            "succeeded"], stage
    assert TransitionLog.objects.filter(asset=pk, to_state=Asset.State.VOICING).count() == 1
    assert not DeadLetter.objects.exists() and not Asset.objects.filter(lease_owner__gt="").exists()


def test_a_stopped_worker_holding_a_publication_does_not_hold_it_up(sandbox, settings):
    settings.RECONCILE_GRACE = GRACE
    settings.METRIC_READBACK_OFFSETS = []
    channel = platform_channels()["x"]
    [pk] = submit(1, lambda i: [channel])
    assert drain(lambda: all_in(Asset, [pk], Asset.State.AWAITING_REVIEW), timeout=60)

    stopped = start_worker(sandbox, ["publish"])
    survivor = None
    try:
        stop_when_idle(stopped)
        approve_asset(pk)
        publication = Publication.objects.get(asset=pk)
        held = publication.job_id
        assert wait_for(lambda: handed_to_a_worker("publish", held), timeout=10)

        survivor = start_worker(sandbox, ["publish"])
        assert wait_for(lambda: all_in(Publication, [publication.pk], Publication.State.PUBLISHED),
                        timeout=GRACE + 40, every=0.3, between=reconcile), \
            Publication.objects.values_list("state", "job_id", "last_error").get(pk=publication.pk)

        # The stopped worker comes back and runs the job it was holding: it finds nothing to do.
        resume(stopped)
        job = Job.fetch(held, connection=django_rq.get_connection("publish"))
        assert wait_for(lambda: job.get_status(refresh=True) == JobStatus.FINISHED, timeout=30)
        assert job.return_value() == "skipped"
    finally:
        kill_group(stopped)
        if survivor:
            kill_group(survivor)

    ledger = ledger_summary()
    assert (ledger["posts"], ledger["duplicates"]) == (1, 0)
    # X processes the uploaded media before the post: waiting for it is recorded as not_ready, not a failure.
    outcomes = (StageAttempt.objects.filter(publication=publication.pk, stage="publish")
                .values_list("outcome", flat=True))
    assert [outcome for outcome in outcomes if outcome != "not_ready"] == ["succeeded"]
    assert Asset.objects.get(pk=pk).state == Asset.State.PUBLISHED


def test_a_redis_flush_during_an_outage_sends_no_call_before_the_reset_time(chaos_settings):
    reset = 4
    chaos_settings.BREAKERS = {**chaos_settings.BREAKERS,
                               "instagram": {"fail_max": 2, "reset_timeout": reset, "success_threshold": 1}}
    forget_breakers()
    channel = platform_channels()["instagram"]
    [pk] = submit(1, lambda i: [channel])
    [publication] = review_all([pk])
    set_faults("instagram", outage=True)
    tries = []
    while get_breaker("instagram").status().state != "open":
        assert call_count("instagram") < 10 and len(tries) < 20, (call_count("instagram"), tries)
        tries.append(runner.run(PUBLISH, publication))
    opened = get_breaker("instagram").status().opened_at.timestamp()

    flush_redis()  # every key gone: queues, breaker state, the sandbox's faults and counters
    set_faults("instagram", outage=True)  # the platform is still down
    forget_breakers()  # and the workers that look next are new processes

    outcomes = []
    while time.time() < opened + reset - 0.5:
        outcomes.append(runner.run(PUBLISH, publication))
        time.sleep(0.1)
    assert call_count("instagram") == 0, outcomes  # nothing reached the platform before the reset time
    assert set(outcomes) == {"breaker_open"} and len(outcomes) >= 10

    clear_faults("instagram")
    time.sleep(max(0.0, opened + reset + 1.1 - time.time()))
    # The probe, at its time, and the platform is back: the Reels container it makes is processed
    # before media_publish, so the upload may take a few looks.
    outcome, deadline = runner.run(PUBLISH, publication), time.time() + 20
    while outcome != "succeeded" and time.time() < deadline:
        time.sleep(0.5)
        outcome = runner.run(PUBLISH, publication)
    assert outcome == "succeeded"
    assert call_count("instagram") >= 1
    assert Publication.objects.get(pk=publication).attempts == 0
