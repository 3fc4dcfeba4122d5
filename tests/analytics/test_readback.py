"""Scheduled readings through the analytics stage: batching, missing metrics, gone posts, own breakers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics import services
from analytics.models import MetricReadback, MetricRollup, ReadingSchedule
from analytics.stages import READBACK
from phantoms.engine.models import StageAttempt
from phantoms.engine.queueing import enqueue
from phantoms.resilience.breakers import get_breaker
from phantoms.resilience.errors import TransientError
from tests.analytics.conftest import due_reading, published
from tests.analytics.fakes import FakeMetricsAdapter, use_adapter
from tests.factories import make_channel
from tests.helpers import drain

pytestmark = pytest.mark.django_db(transaction=True)


def run_due(*readbacks):
    for readback in readbacks:
        enqueue(READBACK, readback.pk)
    assert drain(timeout=20)


def test_default_schedule_is_hours_then_days_to_a_month_and_only_the_first_is_queued_now(settings):
    settings.METRIC_READBACK_OFFSETS = None
    publication = published(published_at=timezone.now() - timedelta(minutes=58))
    services.schedule_readbacks(publication)

    offsets = list(MetricReadback.objects.filter(publication=publication).values_list("offset_seconds", flat=True))
    hour, day = 3600, 86400
    assert offsets == [hour, 6 * hour, day, 3 * day, 7 * day, *(d * day for d in range(8, 31))]
    # Due within the reconciler's horizon: queued now; the rest wait as rows with due times.
    queued = MetricReadback.objects.filter(publication=publication).exclude(job_id="")
    assert list(queued.values_list("offset_seconds", flat=True)) == [hour]


def test_a_channel_schedule_overrides_the_default(settings):
    settings.METRIC_READBACK_OFFSETS = None
    channel = make_channel("tiktok")
    services.set_schedule(channel.pk, services.parse_offsets("30m, 2h, daily to 3d"))
    publication = published(channel=channel)
    services.schedule_readbacks(publication)
    assert list(MetricReadback.objects.filter(publication=publication).values_list("offset_seconds", flat=True)) \
        == [1800, 7200, 86400, 2 * 86400, 3 * 86400]
    assert ReadingSchedule.objects.get(channel=channel).offsets == [1800, 7200, 86400, 172800, 259200]


@pytest.mark.parametrize(("text", "message"), [
    ("6 hours", "'6 hours' is not a duration"),
    ("", "give at least one offset"),
    ("400d", "between 0 and"),
])
def test_bad_offsets_name_the_field_and_the_problem(text, message):
    with pytest.raises(ValueError, match=message) as caught:
        services.parse_offsets(text)
    assert str(caught.value).startswith("offsets:")


def test_due_readings_of_a_channel_are_read_in_one_batched_call(monkeypatch):
    adapter = use_adapter(monkeypatch, FakeMetricsAdapter(metrics_batch=50))
    channel = make_channel("youtube")
    publications = [published(channel=channel) for _ in range(5)]
    for n, publication in enumerate(publications):
        adapter.figures[publication.remote_id] = {"views": 100 * (n + 1), "likes": n, "comments": 0, "shares": 1}
    readings = [due_reading(p) for p in publications]
    not_due = due_reading(publications[0], offset=86400, due_in=86400)

    run_due(readings[0])

    assert len(adapter.calls) == 1 and sorted(adapter.calls[0]) == sorted(p.remote_id for p in publications)
    for n, reading in enumerate(readings):
        reading.refresh_from_db()
        assert reading.state == MetricReadback.State.TAKEN
        assert (reading.views, reading.likes, reading.batch_size) == (100 * (n + 1), n, 5)
    not_due.refresh_from_db()
    assert not_due.state == MetricReadback.State.SCHEDULED
    # One attempt: the companions' rows were written in the same commit, not run on their own.
    assert StageAttempt.objects.filter(stage="analytics").count() == 1


def test_a_batch_never_exceeds_what_the_platform_accepts(monkeypatch):
    adapter = use_adapter(monkeypatch, FakeMetricsAdapter(metrics_batch=2))
    channel = make_channel("x")
    readings = [due_reading(published(channel=channel)) for _ in range(5)]
    run_due(*readings)
    assert all(len(call) <= 2 for call in adapter.calls)
    assert sum(len(call) for call in adapter.calls) == 5
    assert len(adapter.calls) == 3
    assert not MetricReadback.objects.exclude(state=MetricReadback.State.TAKEN).exists()


def test_a_metric_the_platform_does_not_give_is_missing_not_zero(monkeypatch):
    adapter = use_adapter(monkeypatch, FakeMetricsAdapter())
    publication = published(channel=make_channel("instagram"))
    adapter.figures[publication.remote_id] = {"views": 40, "likes": 3, "comments": None, "shares": 0, "saves": 2}
    reading = due_reading(publication)
    run_due(reading)

    reading.refresh_from_db()
    assert reading.views == 40 and reading.shares == 0
    assert reading.comments is None and reading.watch_time_seconds is None and reading.impressions is None
    rollup = MetricRollup.objects.get(asset=publication.asset, channel=publication.channel)
    assert (rollup.views, rollup.shares, rollup.saves) == (40, 0, 2)
    assert rollup.comments is None and rollup.watch_time_seconds is None


def test_a_post_left_out_of_the_answer_has_every_metric_missing(monkeypatch):
    use_adapter(monkeypatch, FakeMetricsAdapter())
    reading = due_reading(published())
    run_due(reading)
    reading.refresh_from_db()
    assert reading.state == MetricReadback.State.TAKEN
    assert all(value is None for value in reading.values().values())
    assert "did not include" in reading.raw["missing"]


def test_a_deleted_or_private_post_is_detected_and_no_longer_read(monkeypatch):
    adapter = use_adapter(monkeypatch, FakeMetricsAdapter())
    publication = published(channel=make_channel("tiktok"))
    adapter.gone.add(publication.remote_id)
    first = due_reading(publication, offset=3600)
    later = [due_reading(publication, offset=86400 * d, due_in=86400 * d) for d in (1, 2, 3)]

    run_due(first)

    first.refresh_from_db()
    assert first.state == MetricReadback.State.GONE
    assert {r.state for r in MetricReadback.objects.filter(pk__in=[r.pk for r in later])} == {"skipped"}
    assert not MetricRollup.objects.exists()
    # Nothing is left for the reconciler to queue.
    assert not READBACK.rows_to_reconcile().filter(publication=publication).exists()
    assert len(adapter.calls) == 1


def test_each_platform_reads_behind_its_own_breaker(monkeypatch):
    adapter = use_adapter(monkeypatch, FakeMetricsAdapter())
    youtube = published(channel=make_channel("youtube"))
    tiktok = published(channel=make_channel("tiktok"))
    adapter.figures[tiktok.remote_id] = {"views": 7}
    get_breaker("youtube").force_open(actor="test")
    try:
        blocked, read = due_reading(youtube), due_reading(tiktok)
        for readback in (blocked, read):
            enqueue(READBACK, readback.pk)
        drain(until=lambda: MetricReadback.objects.filter(pk=read.pk, state="taken").exists(), timeout=10)
    finally:
        get_breaker("youtube").force_close(actor="test")

    blocked.refresh_from_db()
    read.refresh_from_db()
    assert read.state == "taken" and read.views == 7
    assert blocked.state == "scheduled" and blocked.attempts == 0
    assert StageAttempt.objects.filter(publication=youtube, outcome="breaker_open").exists()
    assert [call for call in adapter.calls if youtube.remote_id in call] == []


def test_a_failing_platform_counts_on_its_breaker_and_not_on_the_others(monkeypatch, settings):
    settings.BREAKERS = {**settings.BREAKERS, "x": {**settings.BREAKERS["x"], "fail_max": 2}}
    from phantoms.resilience.breakers import forget_breakers

    forget_breakers()
    use_adapter(monkeypatch, FakeMetricsAdapter(error=TransientError("503 from the metrics endpoint", provider="x")))
    reading = due_reading(published(channel=make_channel("x")))
    enqueue(READBACK, reading.pk)
    drain(until=lambda: get_breaker("x").status().state == "open", timeout=10)
    assert get_breaker("x").status().state == "open"
    assert get_breaker("youtube").status().state == "closed"
    assert "metrics" not in settings.BREAKERS  # a reading uses its platform's breaker; no shared one
    get_breaker("x").force_close(actor="test")


def test_readings_use_the_platforms_read_rate_limit(monkeypatch, settings):
    settings.RATE_LIMITS = {"youtube_metrics": (1, 3600)}
    adapter = use_adapter(monkeypatch, FakeMetricsAdapter(metrics_batch=1))
    channel = make_channel("youtube")
    first, second = due_reading(published(channel=channel)), due_reading(published(channel=channel))
    for readback in (first, second):
        enqueue(READBACK, readback.pk)
    drain(timeout=3)
    assert len(adapter.calls) == 1
    states = sorted(MetricReadback.objects.filter(pk__in=[first.pk, second.pk]).values_list("state", flat=True))
    assert states == ["scheduled", "taken"]
    assert StageAttempt.objects.filter(outcome="rate_limited", error__contains="youtube_metrics").exists()
