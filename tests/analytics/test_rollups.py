"""Rollups kept up to date reading by reading equal a direct aggregate over the readings."""

import random
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from analytics import services
from analytics.models import METRICS, MetricReadback, MetricRollup
from tests.analytics.conftest import published
from tests.analytics.fakes import Reading
from tests.factories import make_channel, make_publishing_asset

pytestmark = pytest.mark.django_db


def take(readback, values, taken_at):
    """What the stage's commit does for one reading."""
    services.apply_reading(readback, Reading(values), taken_at=taken_at, batch_size=1)
    readback.save()


def generated_readings(seed=13, posts=16, readings_per_post=6):
    rng = random.Random(seed)
    channels = [make_channel(p) for p in ("youtube", "tiktok", "instagram", "x")]
    assets = [make_publishing_asset(channels=channels) for _ in range(posts // 4)]
    start = timezone.now() - timedelta(days=12)
    publications = [published(asset=asset, channel=channel, published_at=start)
                    for asset in assets for channel in channels]
    for publication in publications:
        figures = dict.fromkeys(METRICS, 0)
        taken = start
        for n in range(readings_per_post):
            taken += timedelta(hours=rng.randint(3, 30))
            for name in METRICS:
                figures[name] += rng.randint(0, 500)
            # Some platforms never give a metric; some readings lack one now and then.
            values = {name: value for name, value in figures.items()
                      if not (publication.channel.platform == "x" and name == "watch_time_seconds")
                      and rng.random() > 0.15}
            readback = MetricReadback.objects.create(publication=publication, offset_seconds=n, due_at=taken)
            take(readback, values, taken)
    return publications


def last_known(publication, metric, until=None):
    """The direct answer: a post's latest reading that gave the metric (by the readings alone)."""
    qs = MetricReadback.objects.filter(publication=publication, state="taken", **{f"{metric}__isnull": False})
    if until is not None:
        qs = qs.filter(taken_at__date__lte=until)
    return qs.order_by("-taken_at", "-pk").values_list(metric, flat=True).first()


def test_rollups_equal_a_direct_aggregate_per_asset_channel_platform_and_day():
    publications = generated_readings()

    # Per post: the sum of its daily gains is its last known value; NULL where it never had one.
    for publication in publications:
        sums = MetricRollup.objects.filter(asset=publication.asset, channel=publication.channel).aggregate(
            **{m: Sum(m) for m in METRICS})
        for metric in METRICS:
            assert sums[metric] == last_known(publication, metric), (publication.channel.platform, metric)

    # Per platform and per asset, through the same one-query aggregates the pages use.
    for platform in ("youtube", "tiktok", "instagram", "x"):
        direct = sum(last_known(p, "views") or 0 for p in publications if p.channel.platform == platform)
        assert MetricRollup.objects.filter(platform=platform).aggregate(v=Sum("views"))["v"] == direct
    asset = publications[0].asset
    assert MetricRollup.objects.filter(asset=asset).aggregate(v=Sum("likes"))["v"] == \
        sum(last_known(p, "likes") or 0 for p in publications if p.asset_id == asset.pk)
    assert MetricRollup.objects.filter(platform="x").aggregate(w=Sum("watch_time_seconds"))["w"] is None

    # Per day: the gains up to a day add up to the value known at the end of that day.
    day = MetricReadback.objects.filter(state="taken").order_by("taken_at")[30].taken_at.date()
    for publication in publications[:6]:
        upto = MetricRollup.objects.filter(asset=publication.asset, channel=publication.channel,
                                           day__lte=day).aggregate(v=Sum("views"))["v"]
        assert upto == last_known(publication, "views", until=day)


def test_a_rebuild_from_the_readings_gives_the_same_rollups():
    generated_readings(seed=5, posts=8, readings_per_post=6)
    incremental = list(MetricRollup.objects.order_by("day", "asset_id", "channel_id")
                       .values_list("day", "asset_id", "channel_id", *METRICS, "readings"))
    services.rebuild_rollups()
    rebuilt = list(MetricRollup.objects.order_by("day", "asset_id", "channel_id")
                   .values_list("day", "asset_id", "channel_id", *METRICS, "readings"))
    assert rebuilt == incremental and len(rebuilt) > 8


def test_a_reading_without_a_metric_leaves_the_last_value_standing():
    publication = published()
    start = timezone.now() - timedelta(days=3)
    readings = [MetricReadback.objects.create(publication=publication, offset_seconds=n, due_at=start)
                for n in range(3)]
    take(readings[0], {"views": 100}, start)
    take(readings[1], {"likes": 4}, start + timedelta(days=1))
    take(readings[2], {"views": 150, "likes": 6}, start + timedelta(days=2))
    by_day = dict(MetricRollup.objects.values_list("day", "views"))
    assert list(by_day.values()) == [100, None, 50]
    assert MetricRollup.objects.aggregate(v=Sum("views"), likes=Sum("likes")) == {"v": 150, "likes": 6}


def test_the_rebuild_command_reports_what_it_read():
    from io import StringIO

    from django.core.management import call_command

    generated_readings(seed=2, posts=4, readings_per_post=3)
    before = MetricRollup.objects.aggregate(v=Sum("views"))["v"]
    MetricRollup.objects.update(views=0)
    out = StringIO()
    call_command("rebuild_rollups", stdout=out)
    assert out.getvalue().strip() == "rollups rebuilt from 12 reading(s)"
    assert MetricRollup.objects.aggregate(v=Sum("views"))["v"] == before
