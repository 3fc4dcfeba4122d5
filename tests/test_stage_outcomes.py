"""How stage outcomes land: publishing with and without a poll, auto-approval, renders that write as they run."""

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from analytics.models import MetricReadback
from phantoms.engine import runner
from phantoms.engine.models import StageAttempt, TransitionLog
from pipeline.models import Asset
from pipeline.services.review import approve_asset
from pipeline.stages import STAGES
from publishing.models import Channel, Publication
from publishing.stages import PUBLISH
from sandbox.services import ledger_summary
from tests.factories import make_asset, make_channel
from tests.helpers import queues, write_tiny_master

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def approved(sandbox, settings, tmp_path):
    """An approved asset with a rendered file, fanned out to one YouTube channel."""
    settings.MEDIA_ROOT = str(tmp_path)
    channel = make_channel("youtube")
    asset = make_asset(Asset.State.AWAITING_REVIEW, channels=[channel], title="Two paths")
    video = Path(tmp_path, "assets", str(asset.pk), "video.mp4")
    video.parent.mkdir(parents=True)
    write_tiny_master(video)
    asset.video.name = str(video.relative_to(tmp_path))
    asset.save(update_fields=["video"])
    approve_asset(asset.pk)
    return Publication.objects.get(asset=asset)


def poll_jobs() -> int:
    publish = [q for q in queues() if q.name == "publish"][0]
    scheduled = [publish.fetch_job(job_id) for job_id in publish.scheduled_job_registry.get_job_ids()]
    return sum(1 for job in publish.get_jobs() + scheduled if job and job.args[1] == "poll")


def test_a_processing_platform_is_polled_until_live(approved, settings):
    settings.SANDBOX_PROCESSING_SECONDS = 30

    assert runner.run(PUBLISH, approved.pk) == "succeeded"

    approved.refresh_from_db()
    assert approved.state == Publication.State.PROCESSING
    assert approved.remote_id and approved.job_id and approved.published_at is None
    assert poll_jobs() == 1
    assert not MetricReadback.objects.filter(publication=approved).exists()
    assert approved.asset.state == Asset.State.PUBLISHING


def test_a_platform_that_publishes_at_once_goes_live_without_a_poll(approved, settings):
    settings.SANDBOX_PROCESSING_SECONDS = 0

    assert runner.run(PUBLISH, approved.pk) == "succeeded"

    approved.refresh_from_db()
    assert approved.state == Publication.State.PUBLISHED and approved.published_at
    assert poll_jobs() == 0
    assert not StageAttempt.objects.filter(publication=approved, stage="poll").exists()
    assert list(TransitionLog.objects.filter(publication=approved).values_list("to_state", flat=True)) == [
        "uploading", "processing", "published"]
    # Readbacks are scheduled and the asset settles, exactly as after a poll.
    assert MetricReadback.objects.filter(publication=approved).count() == len(settings.METRIC_READBACK_OFFSETS)
    assert Asset.objects.get(pk=approved.asset_id).state == Asset.State.PUBLISHED
    assert ledger_summary()["posts"] == 1


def test_auto_approval_lands_with_the_render_in_one_commit(sandbox, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.AUTO_APPROVE = True
    channels = [make_channel("youtube"), make_channel("x")]
    asset = make_asset(Asset.State.RENDERING, channels=channels, providers={"render": "instant"})

    assert runner.run(STAGES["render"], asset.pk) == "succeeded"

    asset.refresh_from_db()
    assert asset.state == Asset.State.PUBLISHING and asset.review_notes == "auto-approved"
    assert list(asset.transitions.values_list("to_state", flat=True))[-3:] == [
        "awaiting_review", "approved", "publishing"]
    publications = Publication.objects.filter(asset=asset)
    assert sorted(publications.values_list("channel_id", flat=True)) == sorted(c.pk for c in channels)
    # Each publication learned its publish job in the same commit, and the job is on the queue.
    publish = [q for q in queues() if q.name == "publish"][0]
    assert sorted(publish.job_ids) == sorted(publications.values_list("job_id", flat=True))
    assert all(job.args == (p.pk, "publish") for job, p in
               zip([publish.fetch_job(p.job_id) for p in publications], publications, strict=True))


def test_a_second_render_ends_at_full_progress(sandbox, settings, tmp_path):
    """prepare() resets progress in the database; the outcome must still land as 1.0, not look unchanged."""
    settings.MEDIA_ROOT = str(tmp_path)
    asset = make_asset(Asset.State.RENDERING, providers={"render": "instant"}, render_progress=1.0)

    assert runner.run(STAGES["render"], asset.pk) == "succeeded"

    asset.refresh_from_db()
    assert asset.state == Asset.State.AWAITING_REVIEW
    assert asset.render_progress == 1.0 and asset.render_spec["preset"] == settings.RENDER_PRESET
    # What the render probed of its output, for publishing to read instead of probing the file again.
    info = asset.video_info
    assert info["sha256"] == asset.video_sha256 and info["name"] == asset.video.name
    assert info["bytes"] == Path(asset.video.path).stat().st_size and info["pix_fmt"].startswith("yuv420p")


def test_a_render_cancelled_while_it_runs_is_superseded(sandbox, settings, tmp_path, monkeypatch):
    from pipeline.services.review import cancel_asset

    settings.MEDIA_ROOT = str(tmp_path)
    asset = make_asset(Asset.State.RENDERING, providers={"render": "instant"})
    render = STAGES["render"]
    real_work = type(render).work

    def work_then_cancel(self, obj, ctx):
        result = real_work(self, obj, ctx)
        cancel_asset(obj.pk, reason="editor cancelled mid-render")
        return result

    monkeypatch.setattr(type(render), "work", work_then_cancel)

    assert runner.run(render, asset.pk) == "superseded"

    asset.refresh_from_db()
    assert asset.state == Asset.State.CANCELLED and not asset.video
    assert StageAttempt.objects.get(asset=asset, stage="render").outcome == "superseded"


def test_auto_approval_takes_each_channel_s_next_posting_slot(sandbox, settings, tmp_path):
    """A channel with posting slots gets its post at the next free slot, as an editor's "next slot"
    would; a channel without slots posts at once."""
    from publishing.scheduling import next_slot

    settings.MEDIA_ROOT = str(tmp_path)
    settings.AUTO_APPROVE = True
    slotted = make_channel("youtube", posting_slots="09:00, 18:00", timezone="Europe/Paris")
    plain = make_channel("x")
    expected = next_slot(slotted)
    asset = make_asset(Asset.State.RENDERING, channels=[slotted, plain], providers={"render": "instant"})

    assert runner.run(STAGES["render"], asset.pk) == "succeeded"

    asset.refresh_from_db()
    assert asset.state == Asset.State.PUBLISHING and asset.review_notes == "auto-approved"
    at_slot = Publication.objects.get(asset=asset, channel=slotted)
    assert at_slot.state == Publication.State.SCHEDULED and at_slot.scheduled_at == expected
    assert at_slot.scheduled_at.astimezone(ZoneInfo("Europe/Paris")).strftime("%H:%M") in ("09:00", "18:00")
    assert Publication.objects.get(asset=asset, channel=plain).state == Publication.State.PENDING
    # The next auto-approved asset takes the slot after it, never the same one.
    second = make_asset(Asset.State.RENDERING, channels=[slotted], providers={"render": "instant"})
    assert runner.run(STAGES["render"], second.pk) == "succeeded"
    assert Publication.objects.get(asset=second).scheduled_at > at_slot.scheduled_at


def test_auto_approval_posts_at_once_where_the_channel_s_slots_no_longer_parse(sandbox, settings, tmp_path):
    """Slots edited outside the admin into something unreadable: the post goes out now, never stuck."""
    settings.MEDIA_ROOT = str(tmp_path)
    settings.AUTO_APPROVE = True
    channel = make_channel("youtube")
    Channel.objects.filter(pk=channel.pk).update(posting_slots="someday at noon")
    asset = make_asset(Asset.State.RENDERING, channels=[channel], providers={"render": "instant"})

    assert runner.run(STAGES["render"], asset.pk) == "succeeded"

    publication = Publication.objects.get(asset=asset)
    assert publication.state == Publication.State.PENDING and publication.scheduled_at is None
