"""The reconciler gives a new job to every row whose job was due and nobody claimed, and only those.

(docs/architecture.md, "Truth and transport")
"""

from datetime import UTC, timedelta

import django_rq
import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rq.job import Job, JobStatus

from analytics.models import MetricReadback
from phantoms.engine import queueing, runner
from phantoms.engine.models import StageAttempt
from phantoms.engine.services.reconciler import ABANDONED_ERROR, reconcile
from pipeline.models import Asset
from pipeline.stages import STAGES
from publishing.models import Publication
from tests.factories import make_asset, make_channel, make_publication_in, make_publishing_asset
from tests.helpers import flush_redis

pytestmark = pytest.mark.django_db(transaction=True)

NOTHING = {"assets": 0, "publications": 0, "readbacks": 0, "abandoned": 0, "settled": 0}
GRACE = 5


@pytest.fixture(autouse=True)
def grace(settings):
    settings.RECONCILE_GRACE = GRACE


def queue(name):
    return django_rq.get_queue(name)


def fetch(job_id) -> Job:
    return Job.fetch(job_id, connection=django_rq.get_connection("script"))


def scheduled_for(queue_name, job_id):
    when = queue(queue_name).scheduled_job_registry.get_scheduled_time(job_id)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def age(*rows, seconds: float = GRACE + 1):
    """Let time pass for these rows: their next job came due `seconds` ago."""
    for row in rows:
        type(row).objects.filter(pk=row.pk).update(next_run_at=timezone.now() - timedelta(seconds=seconds))


def test_after_a_flush_every_working_row_gets_its_job_back_once():
    working = [make_asset(state) for state in (Asset.State.SCRIPTING, Asset.State.VOICING, Asset.State.RENDERING)]
    resting = [make_asset(state) for state in (Asset.State.DRAFT, Asset.State.AWAITING_REVIEW)]
    parent = make_publishing_asset()
    unsettled = {state: make_publication_in(parent, make_channel(), state)
                 for state in (Publication.State.PENDING, Publication.State.UPLOADING, Publication.State.PROCESSING)}
    for state in (Publication.State.PUBLISHED, Publication.State.FAILED, Publication.State.NEEDS_ATTENTION):
        make_publication_in(parent, make_channel(), state)
    for asset in working:  # jobs existed once...
        queueing.enqueue(STAGES[asset.current_stage], asset.pk)
    flush_redis()  # ...and Redis lost them

    # Just due: a worker may be about to take them. Nobody has, a grace period later: lost.
    assert reconcile() == {**NOTHING, "publications": 3}  # never given a job: lost whenever found
    age(*working)
    assert reconcile() == {**NOTHING, "assets": 3}

    assert [queue(name).count for name in ("script", "voice", "render", "publish")] == [1, 1, 1, 3]
    for asset in working:
        asset.refresh_from_db()
        job = fetch(asset.job_id)
        assert job.args == (asset.pk, asset.current_stage)
        assert job.origin == asset.current_stage
        assert job.func_name == "phantoms.engine.jobs.run_stage"
    for state, publication in unsettled.items():
        publication.refresh_from_db()
        job = fetch(publication.job_id)
        expected = "poll" if state == Publication.State.PROCESSING else "publish"
        assert job.args == (publication.pk, expected) and job.origin == "publish"
    for asset in resting:
        asset.refresh_from_db()
        assert asset.job_id == ""
    parent.refresh_from_db()
    assert parent.state == Asset.State.PUBLISHING  # three publications are still on their way

    age(*working, *unsettled.values())
    assert reconcile() == NOTHING  # overdue, but waiting in their queues (a backlog): nothing twice
    assert [queue(name).count for name in ("script", "voice", "render", "publish")] == [1, 1, 1, 3]


def test_a_live_lease_is_left_alone_and_an_expired_one_is_not():
    now = timezone.now()
    held = make_asset(Asset.State.VOICING)
    lost = make_asset(Asset.State.VOICING)
    Asset.objects.filter(pk=held.pk).update(lease_owner="w1", lease_expires_at=now + timedelta(seconds=60))
    Asset.objects.filter(pk=lost.pk).update(lease_owner="w2", lease_expires_at=now - timedelta(seconds=1))

    assert reconcile()["assets"] == 1
    held.refresh_from_db()
    lost.refresh_from_db()
    assert held.job_id == ""
    assert fetch(lost.job_id).args == (lost.pk, "voice")
    assert queue("voice").count == 1


def test_a_job_still_in_redis_is_not_duplicated():
    queued = make_asset(Asset.State.SCRIPTING)
    deferred = make_asset(Asset.State.RENDERING)
    queueing.enqueue(STAGES["script"], queued.pk)
    queueing.enqueue(STAGES["render"], deferred.pk, delay=300)
    age(queued, seconds=600)  # a long backlog: overdue, still in its queue's list

    assert reconcile() == NOTHING
    assert queue("script").count == 1
    assert queue("render").count == 0 and queue("render").scheduled_job_registry.count == 1


def test_a_job_left_started_by_a_killed_worker_is_replaced_once_its_lease_expires():
    now = timezone.now()
    killed = make_asset(Asset.State.RENDERING)
    working = make_asset(Asset.State.RENDERING)
    for asset in (killed, working):
        job = queueing.enqueue(STAGES["render"], asset.pk)
        queue("render").remove(job.id)  # dequeued and started: what a worker SIGKILLed mid-job leaves behind
        job.set_status(JobStatus.STARTED)
    Asset.objects.filter(pk=killed.pk).update(lease_owner="dead", lease_expires_at=now - timedelta(seconds=5))
    Asset.objects.filter(pk=working.pk).update(lease_owner="alive", lease_expires_at=now + timedelta(seconds=60))
    old_job = Asset.objects.get(pk=killed.pk).job_id

    assert reconcile()["assets"] == 1
    killed.refresh_from_db()
    assert killed.job_id != old_job
    assert fetch(killed.job_id).get_status() == JobStatus.QUEUED
    assert reconcile() == NOTHING


def test_a_deferred_row_is_left_to_its_time_and_given_a_job_once_overdue():
    later = timezone.now() + timedelta(seconds=120)
    asset = make_asset(Asset.State.SCRIPTING)
    Asset.objects.filter(pk=asset.pk).update(next_run_at=later, attempts=2)
    parent = make_publishing_asset()
    publication = make_publication_in(parent, make_channel("tiktok"))
    Publication.objects.filter(pk=publication.pk).update(next_run_at=later)

    # Its job may be lost (a flush) or on its way: either way it is not due; the database says when.
    assert reconcile() == NOTHING
    assert queue("script").count == 0 and queue("publish").count == 0

    age(asset, publication)
    assert reconcile() == {**NOTHING, "assets": 1, "publications": 1}
    assert queue("script").count == 1 and queue("publish").count == 1
    asset.refresh_from_db()
    assert asset.attempts == 2  # a rebuilt job is not an attempt
    assert fetch(asset.job_id).args == (asset.pk, "script")
    assert reconcile() == NOTHING


def test_a_job_popped_by_a_worker_that_died_before_starting_it_is_replaced():
    """A worker on two queues pops with BLPOP and keeps no record: the job is `queued` in no queue, for ever."""
    asset = make_asset(Asset.State.VOICING)
    lost = queueing.enqueue(STAGES["voice"], asset.pk)
    connection = django_rq.get_connection("voice")
    assert connection.lpop(queue("voice").key).decode() == lost.id  # the dequeue; then SIGKILL
    assert fetch(lost.id).get_status() == JobStatus.QUEUED

    assert reconcile() == NOTHING  # within the grace period
    age(asset)
    assert reconcile()["assets"] == 1
    asset.refresh_from_db()
    assert asset.job_id != lost.id and queue("voice").job_ids == [asset.job_id]

    # Should the lost job surface after all (a stopped worker resumed), it finds nothing to do.
    assert runner.run(STAGES["voice"], asset.pk, lost.id) == "skipped"
    asset.refresh_from_db()
    assert asset.state == Asset.State.VOICING and asset.lease_owner == "" and asset.attempts == 0
    assert not StageAttempt.objects.exists()


def test_a_scheduled_job_nobody_promoted_is_replaced_by_one_that_runs_now():
    asset = make_asset(Asset.State.SCRIPTING)
    stranded = queueing.enqueue(STAGES["script"], asset.pk, delay=1)
    age(asset)  # due well past its time, still in the scheduled registry: its scheduler died
    assert stranded.id in queue("script").scheduled_job_registry

    assert reconcile()["assets"] == 1
    asset.refresh_from_db()
    assert queue("script").job_ids == [asset.job_id] and asset.job_id != stranded.id


def test_a_pass_is_one_query_per_stage_and_two_redis_round_trips(monkeypatch):
    lost = [make_asset(Asset.State.SCRIPTING) for _ in range(12)]
    age(*lost)
    round_trips = []
    execute = redis.client.Pipeline.execute

    def counted(pipe, *args, **kwargs):
        round_trips.append(len(pipe.command_stack))
        return execute(pipe, *args, **kwargs)

    monkeypatch.setattr(redis.client.Pipeline, "execute", counted)
    with CaptureQueriesContext(connection) as queries:
        counts = reconcile()
    assert counts["assets"] == 12
    stage_queries = [q for q in queries.captured_queries if q["sql"].startswith("SELECT")
                     and '"next_run_at"' in q["sql"]]
    takeovers = [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(stage_queries) == 7 and len(takeovers) == 12  # seven stages; one conditional UPDATE per lost row
    assert len(round_trips) == 2  # the queues' lists, then every new job at once
    assert queue("script").count == 12

    age(*lost)
    round_trips.clear()
    assert reconcile() == NOTHING
    assert round_trips == [1]  # overdue but waiting in their queue: one read, nothing put


def test_a_pass_looks_at_a_bounded_batch_oldest_first(settings):
    settings.RECONCILE_BATCH = 5
    rows = [make_asset(Asset.State.SCRIPTING) for _ in range(8)]
    for n, row in enumerate(rows):
        age(row, seconds=100 + n)
    assert reconcile()["assets"] == 5
    given = set(Asset.objects.filter(pk__in=[r.pk for r in rows], next_run_at__gt=timezone.now() - timedelta(
        seconds=1)).values_list("pk", flat=True))
    assert given == {r.pk for r in rows[3:]}  # the five due longest ago
    assert reconcile()["assets"] == 3


def test_attempts_left_running_by_a_lost_worker_are_closed_as_abandoned():
    now = timezone.now()
    lost, alive = make_asset(Asset.State.RENDERING), make_asset(Asset.State.RENDERING)
    Asset.objects.filter(pk=lost.pk).update(lease_owner="t-lost", lease_expires_at=now - timedelta(seconds=1))
    Asset.objects.filter(pk=alive.pk).update(lease_owner="t-alive", lease_expires_at=now + timedelta(seconds=60))

    def attempt(asset, token, **kwargs):
        return StageAttempt.objects.create(asset=asset, stage="render", number=1, lease_token=token, **kwargs)

    gone = attempt(lost, "t-lost")
    running = attempt(alive, "t-alive")
    finished = attempt(lost, "t-old", outcome="succeeded", finished_at=now)
    legacy = attempt(lost, "", started_at=now - timedelta(hours=2))  # recorded before attempts had leases
    recent_legacy = attempt(lost, "", started_at=now - timedelta(seconds=30))

    assert reconcile()["abandoned"] == 2
    outcomes = dict(StageAttempt.objects.values_list("pk", "outcome"))
    assert outcomes == {gone.pk: "abandoned", running.pk: "running", finished.pk: "succeeded",
                        legacy.pk: "abandoned", recent_legacy.pk: "running"}
    gone.refresh_from_db()
    assert gone.finished_at is not None and gone.error == ABANDONED_ERROR
    assert reconcile()["abandoned"] == 0


def test_a_deferral_in_the_past_runs_now():
    asset = make_asset(Asset.State.SCRIPTING)
    Asset.objects.filter(pk=asset.pk).update(next_run_at=timezone.now() - timedelta(minutes=5))
    assert reconcile()["assets"] == 1
    assert queue("script").count == 1 and queue("script").scheduled_job_registry.count == 0


def test_due_metric_readbacks_are_enqueued_and_distant_ones_wait():
    now = timezone.now()
    parent = make_publishing_asset()
    publication = make_publication_in(parent, make_channel(), Publication.State.PUBLISHED)

    def readback(offset, due_at, state=MetricReadback.State.SCHEDULED):
        return MetricReadback.objects.create(publication=publication, offset_seconds=offset, due_at=due_at,
                                             state=state)

    overdue = readback(0, now - timedelta(minutes=10))
    soon = readback(60, now + timedelta(minutes=2))
    distant = readback(86400, now + timedelta(days=1))
    readback(1, now - timedelta(minutes=10), state=MetricReadback.State.TAKEN)

    counts = reconcile()
    assert counts["readbacks"] == 2
    analytics = queue("analytics")
    assert analytics.count == 1 and analytics.scheduled_job_registry.count == 1
    overdue.refresh_from_db()
    soon.refresh_from_db()
    distant.refresh_from_db()
    assert fetch(overdue.job_id).args == (overdue.pk, "analytics")
    assert soon.job_id in analytics.scheduled_job_registry
    assert abs((scheduled_for("analytics", soon.job_id) - soon.due_at).total_seconds()) < 3
    assert distant.job_id == ""
    assert reconcile()["readbacks"] == 0


def test_a_publishing_asset_whose_publications_all_finished_is_settled():
    def publishing_with(*states):
        asset = make_publishing_asset()
        for state in states:
            make_publication_in(asset, make_channel(), state)
        return asset

    P = Publication.State
    everywhere = publishing_with(P.PUBLISHED, P.PUBLISHED)
    some = publishing_with(P.PUBLISHED, P.FAILED, P.NEEDS_ATTENTION)
    nowhere = publishing_with(P.FAILED, P.NEEDS_ATTENTION)
    moving = publishing_with(P.PUBLISHED, P.PROCESSING)

    counts = reconcile()
    assert counts["settled"] == 3 and counts["publications"] == 1

    states = {a.pk: a.state for a in Asset.objects.filter(pk__in=[everywhere.pk, some.pk, nowhere.pk, moving.pk])}
    assert states == {everywhere.pk: Asset.State.PUBLISHED, some.pk: Asset.State.PARTIALLY_PUBLISHED,
                      nowhere.pk: Asset.State.FAILED, moving.pk: Asset.State.PUBLISHING}
    assert Asset.objects.get(pk=nowhere.pk).failed_stage == "publish"
    assert everywhere.transitions.filter(from_state="publishing", to_state="published").count() == 1

    assert reconcile() == NOTHING
    assert everywhere.transitions.filter(from_state="publishing").count() == 1
    assert queue("publish").count == 1


def test_a_readback_deferred_past_its_due_time_waits_for_the_deferral():
    now = timezone.now()
    parent = make_publishing_asset()
    publication = make_publication_in(parent, make_channel(), Publication.State.PUBLISHED)
    later = now + timedelta(seconds=90)
    readback = MetricReadback.objects.create(publication=publication, offset_seconds=0, due_at=now,
                                             next_run_at=later)  # the metrics breaker was open

    assert reconcile()["readbacks"] == 0  # due at the deferral's time, not at due_at
    age(readback)
    assert reconcile()["readbacks"] == 1
    readback.refresh_from_db()
    assert queue("analytics").job_ids == [readback.job_id]
