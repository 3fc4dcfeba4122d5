"""Scheduled publications: rows with a due time that survive a Redis flush and go out once, at their time."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from phantoms.engine import runner
from phantoms.engine.services.reconciler import reconcile
from pipeline.models import Asset
from pipeline.services.review import ReviewError, approve_asset
from publishing import slots
from publishing.models import Publication
from publishing.scheduling import NotAllowed, ScheduleError, next_slot, reschedule
from publishing.stages import PUBLISH
from sandbox.models import SandboxPost
from sandbox.services import ledger_summary
from tests.factories import make_asset, make_channel, make_team, make_user
from tests.helpers import drain, flush_redis, queues, write_tiny_master

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reviewed(sandbox, settings, tmp_path):
    """An asset awaiting review with a rendered file, for a YouTube and an X channel."""
    settings.MEDIA_ROOT = str(tmp_path)
    settings.SANDBOX_PROCESSING_SECONDS = 0
    settings.RECONCILE_GRACE = 0
    youtube, x = make_channel("youtube"), make_channel("x")
    asset = make_asset(Asset.State.AWAITING_REVIEW, channels=[youtube, x], title="Two paths")
    video = Path(tmp_path, "assets", str(asset.pk), "video.mp4")
    video.parent.mkdir(parents=True)
    write_tiny_master(video)
    asset.video.name = str(video.relative_to(tmp_path))
    asset.save(update_fields=["video"])
    return asset, youtube, x


def publish_queue():
    return [q for q in queues() if q.name == "publish"][0]


def test_a_scheduled_post_survives_a_redis_flush_and_goes_out_once_at_its_time(reviewed):
    asset, youtube, x = reviewed
    at = timezone.now() + timedelta(seconds=3)
    approve_asset(asset.pk, schedule={youtube.pk: at})  # X: now

    scheduled = Publication.objects.get(asset=asset, channel=youtube)
    assert scheduled.state == Publication.State.SCHEDULED and scheduled.scheduled_at == at
    assert scheduled.next_run_at == scheduled.scheduled_at  # the row is due then: the reconciler's clock
    assert scheduled.job_id in publish_queue().scheduled_job_registry.get_job_ids()
    first_job = scheduled.job_id

    flush_redis()  # every job is gone: X's, due now, and the one waiting for YouTube's time
    assert reconcile()["publications"] == 1  # X's, due: replaced; YouTube's is not due yet
    assert Publication.objects.get(pk=scheduled.pk).job_id == first_job
    assert drain(until=lambda: ledger_summary("x")["posts"] == 1, timeout=20)
    assert not SandboxPost.objects.filter(platform="youtube").exists()

    time.sleep(max(0.0, (at - timezone.now()).total_seconds()) + 0.05)
    assert reconcile()["publications"] == 1  # due and without a job: the row gets one
    assert drain(until=lambda: Publication.objects.get(pk=scheduled.pk).state == Publication.State.PUBLISHED,
                 timeout=20)

    post = SandboxPost.objects.get(platform="youtube")
    assert post.accepted_at >= at
    assert ledger_summary()["posts"] == 2 and ledger_summary()["duplicates"] == 0
    # The flushed job, should it ever surface, and another reconciler pass post nothing more.
    assert runner.run(PUBLISH, scheduled.pk, first_job) == "skipped"
    assert reconcile()["publications"] == 0
    drain(timeout=5)
    assert ledger_summary()["posts"] == 2
    assert Asset.objects.get(pk=asset.pk).state == Asset.State.PUBLISHED


def test_a_job_run_before_its_time_waits_without_posting_or_charging_an_attempt(reviewed):
    asset, youtube, x = reviewed
    at = timezone.now() + timedelta(hours=1)
    approve_asset(asset.pk, schedule={youtube.pk: at, x.pk: at})
    publication = Publication.objects.get(asset=asset, channel=youtube)

    assert runner.run(PUBLISH, publication.pk, publication.job_id) == "not_ready"

    publication.refresh_from_db()
    assert publication.state == Publication.State.SCHEDULED and publication.attempts == 0
    assert abs((publication.next_run_at - at).total_seconds()) < 2
    assert not SandboxPost.objects.exists()
    assert Asset.objects.get(pk=asset.pk).state == Asset.State.PUBLISHING


def test_rescheduling_names_a_new_job_and_the_old_one_claims_nothing(reviewed):
    asset, youtube, x = reviewed
    approver = make_user(roles=["approver"])
    at = timezone.now() + timedelta(hours=2)
    approve_asset(asset.pk, user=approver, schedule={youtube.pk: at, x.pk: at})
    publication = Publication.objects.get(asset=asset, channel=youtube)
    old_job = publication.job_id

    later = at + timedelta(days=1)
    moved = reschedule(publication.pk, later, user=approver)

    assert moved.scheduled_at == later and moved.next_run_at == later and moved.job_id != old_job
    assert runner.run(PUBLISH, publication.pk, old_job) == "skipped"
    assert set(publish_queue().scheduled_job_registry.get_job_ids()) >= {moved.job_id}
    event = AuditEvent.objects.filter(action=AuditEvent.Action.SCHEDULED, target_type="publication").get()
    assert event.actor == approver and "moved from" in event.summary

    # Moving it to now puts it out at once.
    reschedule(publication.pk, timezone.now(), user=approver)
    assert drain(until=lambda: Publication.objects.get(pk=publication.pk).state == Publication.State.PUBLISHED,
                 timeout=20)
    assert ledger_summary("youtube")["posts"] == 1
    with pytest.raises(ScheduleError, match="only scheduled posts can be moved"):
        reschedule(publication.pk, later, user=approver)


def test_who_may_move_a_post(reviewed):
    asset, youtube, x = reviewed
    at = timezone.now() + timedelta(hours=2)
    approve_asset(asset.pk, schedule={youtube.pk: at, x.pk: at})
    publication = Publication.objects.get(asset=asset, channel=youtube)

    with pytest.raises(NotAllowed, match="may not schedule"):
        reschedule(publication.pk, at + timedelta(hours=1), user=make_user(roles=["editor"]))
    with pytest.raises(Publication.DoesNotExist):
        reschedule(publication.pk, at + timedelta(hours=1), user=make_user(roles=["approver"], teams=[make_team()]))
    with pytest.raises(ScheduleError, match="scheduled_at: .* is in the past"):
        reschedule(publication.pk, timezone.now() - timedelta(hours=1), user=make_user(roles=["approver"]))
    publication.refresh_from_db()
    assert publication.scheduled_at == at


def test_approving_for_a_time_in_the_past_is_refused_and_changes_nothing(reviewed):
    asset, youtube, x = reviewed
    with pytest.raises(ReviewError, match=rf"schedule\[{youtube.pk}\]: .* is in the past"):
        approve_asset(asset.pk, schedule={youtube.pk: timezone.now() - timedelta(days=1)})
    with pytest.raises(ReviewError, match="has no posting slots"):
        approve_asset(asset.pk, schedule={x.pk: "slot"})
    assert Asset.objects.get(pk=asset.pk).state == Asset.State.AWAITING_REVIEW
    assert not Publication.objects.exists()


def test_the_next_slot_skips_slots_other_posts_hold(reviewed):
    asset, youtube, x = reviewed
    youtube.posting_slots, youtube.timezone = "mon-fri 09:00, 18:30", "Europe/Paris"
    youtube.save()
    other = make_asset(Asset.State.AWAITING_REVIEW, channels=[youtube])

    first = next_slot(youtube)
    approve_asset(asset.pk, schedule={youtube.pk: "slot"})
    approve_asset(other.pk, schedule={youtube.pk: "slot"})

    held = sorted(Publication.objects.filter(channel=youtube).values_list("scheduled_at", flat=True))
    assert held[0] == first and held[1] > first
    for when in held:
        local = when.astimezone(ZoneInfo("Europe/Paris"))
        assert (local.hour, local.minute) in {(9, 0), (18, 30)}
        assert local.weekday() < 5 or (local.hour, local.minute) == (18, 30)
    assert Publication.objects.get(asset=asset, channel=x).state == Publication.State.PENDING


def test_slot_rules():
    parsed = slots.parse("mon-fri 09:00, sat/sun 11:30, 18:00")
    assert [str(s) for s in parsed] == ["mon/tue/wed/thu/fri 09:00", "sat/sun 11:30", "18:00"]
    friday_evening = datetime(2026, 12, 4, 19, 0, tzinfo=UTC)  # a Friday
    upcoming = slots.upcoming(parsed, ZoneInfo("UTC"), friday_evening)
    assert [next(upcoming) for _ in range(3)] == [datetime(2026, 12, 5, 11, 30, tzinfo=ZoneInfo("UTC")),
                                                   datetime(2026, 12, 5, 18, 0, tzinfo=ZoneInfo("UTC")),
                                                   datetime(2026, 12, 6, 11, 30, tzinfo=ZoneInfo("UTC"))]
    assert str(slots.parse("fri-mon 08:00")[0]) == "mon/fri/sat/sun 08:00"
    with pytest.raises(slots.SlotError, match="posting_slots: 'noon 12:00': unknown day 'noon'"):
        slots.parse("noon 12:00")
    with pytest.raises(slots.SlotError, match="posting_slots: 'mon 9am': the time must be HH:MM"):
        slots.parse("mon 9am")
    with pytest.raises(slots.SlotError, match="timezone: 'Mars/Olympus' is not a known time zone"):
        slots.zone("Mars/Olympus")
