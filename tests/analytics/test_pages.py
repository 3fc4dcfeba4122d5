"""The dashboard, the performance pages and the API: with data and empty, and a number of queries that
does not grow with the number of posts (10 against 10,000)."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analytics.models import MetricReadback, MetricRollup
from phantoms.engine.models import BreakerEvent, DeadLetter, StageAttempt
from pipeline.models import Asset, PromptTemplate
from publishing.models import Publication
from tests.factories import make_channel, make_letter, make_publishing_asset, make_team, make_user

pytestmark = pytest.mark.django_db

PLATFORMS = ("youtube", "tiktok", "instagram", "x")


def posts(n: int, *, days: int = 3, channels_per_platform: int = 1):
    """`n` posts (asset × channel) over the four platforms' channels, each with `days` days of rollups and
    one reading (made in bulk: the 10,000-post case is 100 channels × 100 assets)."""
    from publishing.models import Channel

    channels = Channel.objects.bulk_create([
        Channel(platform=p, name=f"{p} {k}", account_id=f"bulk-{p}-{k}-{n}") for p in PLATFORMS
        for k in range(channels_per_platform)])
    template, _ = PromptTemplate.objects.get_or_create(name="listicle", defaults={"system_prompt": "Write."})
    assets = Asset.objects.bulk_create([
        Asset(brief=f"brief {i}", title=f"Asset {i}", script_model="gpt-x" if i % 2 else "gpt-y",
              voice_provider="offline", visuals_provider="pexels" if i % 3 else "offline",
              prompt_template=template if i % 2 else None)
        for i in range(max(1, n // len(channels)))])
    pairs = [(asset, channel) for asset in assets for channel in channels][:n]
    now = timezone.now()
    publications = Publication.objects.bulk_create([
        Publication(asset=asset, channel=channel, remote_id=f"p-{asset.pk}-{channel.pk}", published_at=now)
        for asset, channel in pairs])
    MetricReadback.objects.bulk_create([
        MetricReadback(publication=p, offset_seconds=3600, due_at=now, state="taken", taken_at=now,
                       views=10 * i, likes=i) for i, p in enumerate(publications)])
    today = now.date()
    MetricRollup.objects.bulk_create([
        MetricRollup(day=today - timedelta(days=d), asset=asset, channel=channel, platform=channel.platform,
                     views=(asset.pk % 50) + d, likes=1, readings=1,
                     watch_time_seconds=None if channel.platform == "x" else 30)
        for asset, channel in pairs for d in range(days)])
    return assets, channels


def posts_at_scale(n: int):
    """`n` posts' rollups and readings written by the database itself (a recursive series, on PostgreSQL
    and SQLite alike): 100 assets × n/100 channels, readings at n/100 offsets of 100 publications."""
    from publishing.models import Channel

    side = 100
    per = n // side
    channels = Channel.objects.bulk_create([Channel(platform=PLATFORMS[k % 4], name=f"scale {k}",
                                                    account_id=f"scale-{k}") for k in range(per)])
    assets = Asset.objects.bulk_create([Asset(brief=f"scale {i}", title=f"Scale {i}") for i in range(side)])
    publications = Publication.objects.bulk_create([
        Publication(asset=asset, channel=channels[0], remote_id=f"scale-{asset.pk}") for asset in assets])
    firsts = {}
    for name, rows in (("channel", channels), ("asset", assets), ("publication", publications)):
        ids = sorted(row.pk for row in rows)
        assert ids == list(range(ids[0], ids[0] + len(ids))), f"{name} ids not contiguous"
        firsts[name] = ids[0]
    now, today = timezone.now(), timezone.now().date()
    series = "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "
    with connection.cursor() as cursor:
        cursor.execute(
            series + f"INSERT INTO {MetricRollup._meta.db_table} (day, asset_id, channel_id, platform, views, "
            "likes, readings) SELECT %s, %s + i / %s, %s + i - (i / %s) * %s, "
            f"(SELECT platform FROM {Channel._meta.db_table} WHERE id = %s + i - (i / %s) * %s), i / 7, 1, 1 FROM n",
            [n - 1, today, firsts["asset"], per, firsts["channel"], per, per, firsts["channel"], per, per])
        cursor.execute(
            series + f"INSERT INTO {MetricReadback._meta.db_table} (lease_owner, job_id, attempts, last_error, "
            "offset_seconds, due_at, state, taken_at, views, likes, raw, publication_id) "
            "SELECT '', '', 0, '', 1000 + i / %s, %s, 'taken', %s, i / 3, 1, '{}', %s + i - (i / %s) * %s FROM n",
            [n - 1, side, now, now, firsts["publication"], side, side])
    return assets


def operational_rows():
    asset = make_publishing_asset()
    now = timezone.now()
    StageAttempt.objects.bulk_create([
        StageAttempt(asset=asset, stage="render", provider="ffmpeg", number=1, started_at=now, finished_at=now,
                     duration_ms=ms, outcome="succeeded") for ms in (100, 200, 300, 400, 1000)])
    StageAttempt.objects.create(asset=asset, stage="publish", provider="youtube", number=1, finished_at=now,
                                duration_ms=50, outcome="transient")
    make_letter(asset, stage="render", error_class="permanent")
    make_letter(asset, stage="render", error_class="permanent")
    make_letter(asset, stage="publish", error_class="transient")
    BreakerEvent.objects.create(name="tiktok", from_state="closed", to_state="open", error="503 Service Unavailable")


def test_dashboard_shows_every_part_of_the_picture(admin_client):
    operational_rows()
    html = admin_client.get(reverse("admin:index")).content.decode()
    for part in ("dash-asset-states", "dash-queues", "dash-throughput", "dash-durations", "dash-breaker-states",
                 "dash-letters"):
        assert f'id="{part}"' in html, part
    assert "<th>render</th><td>ffmpeg</td><td>5</td><td>300 ms</td><td>880 ms</td>" in html  # p50, p95
    assert "succeeded 5" in html and "transient 1" in html
    assert "<strong>tiktok</strong> closed → open" in html
    assert "<th>render</th><td>permanent</td>" in html and ">2</a>" in html
    assert 'data-refresh-url="/admin/dashboard/"' in html
    assert DeadLetter.objects.count() == 3


def test_dashboard_renders_empty(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert "No attempts in the last 24 h." in html and "None open." in html


def test_the_live_fragment_is_the_dashboard_alone_and_for_staff_only(admin_client, client):
    operational_rows()
    fragment = admin_client.get("/admin/dashboard/")
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert 'id="dash-throughput"' in body and "<html" not in body
    assert client.get("/admin/dashboard/").status_code == 302  # to the login page


def queries(admin_client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert admin_client.get(url).status_code == 200
    return len(captured)


def test_pages_make_the_same_number_of_queries_for_10_and_10000_posts(admin_client):
    assets, _ = posts(10)
    asset_url = reverse("admin:analytics_asset_performance", args=[assets[0].pk])
    urls = [reverse("admin:index"), reverse("admin:analytics_performance"), asset_url, "/api/metrics/",
            "/api/rollups/"]
    [queries(admin_client, url) for url in urls]  # warm: the first request caches content types and the like
    few = [queries(admin_client, url) for url in urls]
    posts_at_scale(10_000)
    many = [queries(admin_client, url) for url in urls]
    assert many == few
    assert MetricRollup.objects.count() > 10_000 and MetricReadback.objects.count() > 10_000


def test_performance_page_with_data_charts_tables_and_csv(admin_client):
    assets, _ = posts(16)
    response = admin_client.get(reverse("admin:analytics_performance") + "?days=7")
    html = response.content.decode()
    for chart in ("daily-views", "top-assets", "platforms", "by-template", "by-model", "by-voice", "by-visuals"):
        assert f'id="chart-{chart}"' in html and f'id="chart-data-{chart}"' in html, chart
    assert "/static/analytics/vendor/chartjs/chart.umd.min" in html
    assert "listicle (n=2)" in html and "(none) (n=2)" in html
    assert reverse("admin:analytics_asset_performance", args=[assets[0].pk]) in html

    platforms = admin_client.get(reverse("admin:analytics_performance") + "?days=7&csv=platforms")
    assert platforms["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(platforms.content.decode())))
    by_platform = {row["platform"]: row for row in rows}
    assert set(by_platform) == set(PLATFORMS)
    assert by_platform["youtube"]["assets"] == "4"
    expected_views = sum(3 * (a.pk % 50) + 3 for a in assets)  # three days: pk % 50 + 0, 1, 2
    assert int(by_platform["youtube"]["views"]) == expected_views
    assert by_platform["x"]["watch_time_seconds"] == ""  # missing, not 0
    assert admin_client.get(reverse("admin:analytics_performance") + "?csv=nope").status_code == 404


def test_asset_page_shows_views_over_time_per_platform(admin_client):
    channel = make_channel("tiktok")
    asset = make_publishing_asset(channels=[channel], title="Sleep tips")
    publication = Publication.objects.create(asset=asset, channel=channel, remote_id="t-1")
    start = timezone.now() - timedelta(days=2)
    for n, views in enumerate((10, None, 90)):
        MetricReadback.objects.create(publication=publication, offset_seconds=n, due_at=start, state="taken",
                                      taken_at=start + timedelta(hours=n), views=views)
    response = admin_client.get(reverse("admin:analytics_asset_performance", args=[asset.pk]))
    html = response.content.decode()
    assert "Sleep tips" in html and 'id="chart-views-over-time"' in html
    spec = response.context["charts"][0].spec()
    assert spec["datasets"] == [{"label": "tiktok", "data": [10, None, 90]}]
    body = admin_client.get(reverse("admin:analytics_asset_performance", args=[asset.pk]) + "?csv=views-over-time")
    lines = body.content.decode().strip().splitlines()
    assert lines[0].startswith("taken at (UTC),platform,channel,views") and lines[2].split(",")[3] == ""


def test_performance_pages_render_empty(admin_client):
    html = admin_client.get(reverse("admin:analytics_performance")).content.decode()
    assert html.count("No readings yet.") == 7
    assert admin_client.get(reverse("admin:analytics_asset_performance", args=[999999])).status_code == 200


def test_performance_is_scoped_to_the_users_teams(client):
    posts(8)
    stranger = make_user(roles=["viewer"], teams=[make_team()], is_staff=True)
    client.force_login(stranger)
    response = client.get(reverse("admin:analytics_performance"))
    assert response.status_code == 200
    assert all(chart.empty for chart in response.context["charts"])


def test_api_filters_and_pages(admin_client):
    assets, channels = posts(8)
    body = admin_client.get("/api/rollups/", {"platform": "tiktok"}).json()
    assert body["count"] == 2 * 3 and {row["platform"] for row in body["results"]} == {"tiktok"}
    assert admin_client.get("/api/rollups/", {"asset": assets[0].pk}).json()["count"] == 4 * 3
    assert admin_client.get("/api/rollups/", {"template": "listicle"}).json()["count"] == 4 * 3
    today = timezone.now().date()
    assert admin_client.get("/api/rollups/", {"since": today.isoformat()}).json()["count"] == 8
    x_rows = admin_client.get("/api/rollups/", {"platform": "x"}).json()["results"]
    assert all(row["watch_time_seconds"] is None for row in x_rows)
    readings = admin_client.get("/api/metrics/", {"channel": channels[0].pk}).json()
    assert readings["count"] == 2 and {r["platform"] for r in readings["results"]} == {"youtube"}
    paged = admin_client.get("/api/rollups/", {"limit": 5, "offset": 5}).json()
    assert paged["count"] == 8 * 3 and len(paged["results"]) == 5 and paged["next"] and paged["previous"]
    bad = admin_client.get("/api/rollups/", {"since": "yesterday"})
    assert bad.status_code == 400 and "since" in str(bad.json()["error"])
    bad = admin_client.get("/api/metrics/", {"platform": "myspace"})
    assert bad.status_code == 400 and "platform" in str(bad.json()["error"])


def test_schema_documents_the_filters(admin_client):
    schema = admin_client.get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/metrics/", "/api/rollups/"):
        names = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
        assert {"asset", "channel", "platform", "template", "since", "until", "limit", "offset"} <= names, path
