"""The reconciler rebuilds every missing job from the database, and only those.

(docs/architecture.md, "Truth and transport")
"""

from datetime import UTC, timedelta

import django_rq
import pytest
from django.utils import timezone
from rq.job import Job, JobStatus

from analytics.models import MetricReadback
from phantoms.engine import queueing
from phantoms.engine.services.reconciler import reconcile
from pipeline.models import Asset
from pipeline.stages import STAGES
from publishing.models import Publication
from tests.factories import make_asset, make_channel, make_publication_in, make_publishing_asset
from tests.helpers import flush_redis

pytestmark = pytest.mark.django_db(transaction=True)

NOTHING = {"assets": 0, "publications": 0, "readbacks": 0, "settled": 0}


def queue(name):
    return django_rq.get_queue(name)


def fetch(job_id) -> Job:
    return Job.fetch(job_id, connection=django_rq.get_connection("script"))


def scheduled_for(queue_name, job_id):
    when = queue(queue_name).scheduled_job_registry.get_scheduled_time(job_id)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


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

    assert reconcile() == {"assets": 3, "publications": 3, "readbacks": 0, "settled": 0}

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

    assert reconcile() == NOTHING  # every job is there now: nothing twice
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

    assert reconcile() == NOTHING
    assert queue("script").count == 1
    assert queue("render").count == 0 and queue("render").scheduled_job_registry.count == 1


def test_a_job_left_started_by_a_killed_worker_is_replaced_once_its_lease_expires():
    now = timezone.now()
    killed = make_asset(Asset.State.RENDERING)
    working = make_asset(Asset.State.RENDERING)
    for asset in (killed, working):
        job = queueing.enqueue(STAGES["render"], asset.pk)
        job.set_status(JobStatus.STARTED)  # what a worker leaves behind when SIGKILLed mid-job
    Asset.objects.filter(pk=killed.pk).update(lease_owner="dead", lease_expires_at=now - timedelta(seconds=5))
    Asset.objects.filter(pk=working.pk).update(lease_owner="alive", lease_expires_at=now + timedelta(seconds=60))
    old_job = Asset.objects.get(pk=killed.pk).job_id

    assert reconcile()["assets"] == 1
    killed.refresh_from_db()
    assert killed.job_id != old_job
    assert fetch(killed.job_id).get_status() == JobStatus.QUEUED
    assert reconcile() == NOTHING


def test_a_deferred_row_comes_back_as_a_scheduled_job_at_its_time_not_now():
    later = timezone.now() + timedelta(seconds=120)
    asset = make_asset(Asset.State.SCRIPTING)
    Asset.objects.filter(pk=asset.pk).update(next_run_at=later, attempts=2)
    parent = make_publishing_asset()
    publication = make_publication_in(parent, make_channel("tiktok"))
    Publication.objects.filter(pk=publication.pk).update(next_run_at=later)

    assert reconcile() == {"assets": 1, "publications": 1, "readbacks": 0, "settled": 0}

    assert queue("script").count == 0 and queue("publish").count == 0
    asset.refresh_from_db()
    publication.refresh_from_db()
    assert asset.job_id in queue("script").scheduled_job_registry
    assert publication.job_id in queue("publish").scheduled_job_registry
    assert abs((scheduled_for("script", asset.job_id) - later).total_seconds()) < 3
    assert abs((scheduled_for("publish", publication.job_id) - later).total_seconds()) < 3
    assert abs((asset.next_run_at - later).total_seconds()) < 3
    assert asset.attempts == 2  # a rebuilt job is not an attempt
    assert reconcile() == NOTHING


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

    assert reconcile()["readbacks"] == 1
    readback.refresh_from_db()
    assert queue("analytics").count == 0
    assert abs((scheduled_for("analytics", readback.job_id) - later).total_seconds()) < 3
