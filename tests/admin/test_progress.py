"""Live progress: what the asset page and list poll (stage, render %, queue position, retries, waits, ETA)."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from phantoms.engine import queueing
from phantoms.engine.models import StageAttempt
from pipeline.models import Asset
from pipeline.progress import asset_progress, list_progress
from pipeline.stages import STAGES
from publishing.models import Publication
from tests.admin.factories import make_asset, make_channel, make_publication, make_staff
from tests.factories import make_team

pytestmark = pytest.mark.django_db


def history(stage, *seconds):
    asset = make_asset(Asset.State.PUBLISHING, with_media=False)
    now = timezone.now()
    for value in seconds:
        StageAttempt.objects.create(asset=asset, stage=stage, number=1, outcome=StageAttempt.Outcome.SUCCEEDED,
                                    started_at=now, finished_at=now, duration_ms=int(value * 1000))


def test_queue_position_and_an_eta_from_recent_stage_durations():
    ahead = [make_asset(Asset.State.VOICING, with_media=False) for _ in range(2)]
    asset = make_asset(Asset.State.VOICING, with_media=False)
    for row in [*ahead, asset]:
        queueing.enqueue(STAGES["voice"], row.pk)
    asset.refresh_from_db()

    p = asset_progress(asset)
    assert p["stage"] == "voice" and p["position"] == 3 and p["queue"] == "voice"
    assert p["eta"] is None  # no history of the remaining stages yet

    history("voice", 2, 4, 100)  # median 4
    history("visuals", 6)
    history("render", 20)
    p = asset_progress(asset, now=p["now"])
    assert p["eta"] == p["now"] + timedelta(seconds=4 + 6 + 20)


def test_a_render_under_way_reports_its_percentage_and_its_own_pace():
    history("render", 500)
    asset = make_asset(Asset.State.RENDERING, with_media=False)
    now = timezone.now()
    StageAttempt.objects.create(asset=asset, stage="render", number=1, outcome=StageAttempt.Outcome.RUNNING,
                                started_at=now - timedelta(seconds=30))
    Asset.objects.filter(pk=asset.pk).update(render_progress=0.25, lease_owner="w", lease_expires_at=now + timedelta(
        seconds=60))
    asset.refresh_from_db()

    p = asset_progress(asset, now=now)
    assert p["render_percent"] == 25 and p["running"]
    assert p["eta"] == now + timedelta(seconds=90)  # 30 s for the first quarter: 90 s for the rest


def test_the_next_retry_and_a_breaker_wait_are_shown():
    asset = make_asset(Asset.State.SCRIPTING, with_media=False)
    later = timezone.now() + timedelta(seconds=40)
    Asset.objects.filter(pk=asset.pk).update(attempts=2, next_run_at=later, last_error="openai: 503 from upstream")
    StageAttempt.objects.create(asset=asset, stage="script", number=3, outcome=StageAttempt.Outcome.BREAKER_OPEN,
                                error="breaker 'openai' is open; may probe in 40 s", finished_at=timezone.now())
    asset.refresh_from_db()

    p = asset_progress(asset)
    assert p["retry"] == {"at": later, "number": 3, "error": "openai: 503 from upstream"}
    assert p["wait"].startswith("breaker open: breaker 'openai' is open") and p["waiting_until"] == later


def test_the_page_and_list_partials_poll_while_an_asset_moves_and_stop_after(client):
    admin_client = client  # a member of the default team only: another team's asset is absent
    admin_client.force_login(make_staff(perms=["pipeline.view_asset", "pipeline.change_asset"]))
    moving = make_asset(Asset.State.RENDERING, with_media=False)
    Asset.objects.filter(pk=moving.pk).update(render_progress=0.6)
    resting = make_asset(Asset.State.AWAITING_REVIEW)
    elsewhere = make_asset(Asset.State.RENDERING, with_media=False, team=make_team())

    page = admin_client.get(reverse("admin:pipeline_asset_change", args=[moving.pk])).content.decode()
    assert f'hx-get="/admin/pipeline/asset/{moving.pk}/progress/"' in page and "phantoms/htmx" in page
    part = admin_client.get(reverse("admin:pipeline_asset_progress", args=[moving.pk]))
    assert part.status_code == 200 and 'id="progress-render-percent">60%' in part.content.decode()
    assert admin_client.get(reverse("admin:pipeline_asset_progress", args=[resting.pk])).status_code == 286

    changelist = admin_client.get(reverse("admin:pipeline_asset_changelist")).content.decode()
    polled = re.search(r'hx-get="/admin/pipeline/asset/progress/\?ids=([0-9,]*)"', changelist).group(1)
    assert f'id="progress-{moving.pk}"' in changelist and polled.split(",") == [str(moving.pk), ""]
    cells = admin_client.get(reverse("admin:pipeline_asset_progress_list"),
                             {"ids": f"{moving.pk},{resting.pk},{elsewhere.pk}"})
    assert cells.status_code == 200
    html = cells.content.decode()
    assert f'hx-swap-oob="outerHTML:#progress-{moving.pk}"' in html and "render 60%" in html
    assert f"progress-{elsewhere.pk}" not in html  # another team's asset is absent
    assert admin_client.get(reverse("admin:pipeline_asset_progress_list"), {"ids": str(resting.pk)}).status_code == 286
    bad = admin_client.get(reverse("admin:pipeline_asset_progress_list"), {"ids": "1,two"})
    assert bad.status_code == 400 and bad.content.decode().startswith("ids:")


def moving_page(count: int) -> list[Asset]:
    """`count` assets in every kind of motion: rendering with a running attempt, waiting on a
    breaker, publishing with a processing publication that waits for its next poll."""
    channel = make_channel("youtube", name=f"progress-{count}")
    now = timezone.now()
    assets = []
    for n in range(count):
        kind = n % 3
        if kind == 0:
            asset = make_asset(Asset.State.RENDERING, with_media=False)
            StageAttempt.objects.create(asset=asset, stage="render", number=1, outcome=StageAttempt.Outcome.RUNNING,
                                        started_at=now - timedelta(seconds=5))
            queueing.enqueue(STAGES["render"], asset.pk)
        elif kind == 1:
            asset = make_asset(Asset.State.SCRIPTING, with_media=False)
            Asset.objects.filter(pk=asset.pk).update(attempts=1, next_run_at=now + timedelta(seconds=30))
            StageAttempt.objects.create(asset=asset, stage="script", number=1,
                                        outcome=StageAttempt.Outcome.BREAKER_OPEN, error="breaker 'openai' is open",
                                        finished_at=now)
        else:
            asset = make_asset(Asset.State.PUBLISHING, channels=[channel])
            publication = make_publication(asset, channel)
            Publication.objects.filter(pk=publication.pk).update(state=Publication.State.PROCESSING,
                                                                 next_run_at=now + timedelta(seconds=20))
            StageAttempt.objects.create(asset=asset, publication=publication, stage="poll", number=1,
                                        outcome=StageAttempt.Outcome.NOT_READY, error="still processing",
                                        finished_at=now)
        assets.append(asset)
    return assets


def test_the_list_reads_progress_in_the_same_queries_for_three_rows_or_thirty(client):
    history("render", 20)
    client.force_login(make_staff(perms=["pipeline.view_asset"]))
    counts = {}
    for rows in (3, 30):
        Asset.objects.all().delete()
        assets = moving_page(rows)
        with CaptureQueriesContext(connection) as changelist_queries:
            page = client.get(reverse("admin:pipeline_asset_changelist"))
        assert page.status_code == 200
        html = page.content.decode()
        assert all(f'id="progress-{asset.pk}"' in html for asset in assets)
        assert html.count("breaker open: breaker") == rows // 3 and html.count("queue #") >= rows // 3
        with CaptureQueriesContext(connection) as partial_queries:
            cells = client.get(reverse("admin:pipeline_asset_progress_list"),
                               {"ids": ",".join(str(asset.pk) for asset in assets)})
        assert cells.status_code == 200 and cells.content.decode().count("hx-swap-oob") == rows
        counts[rows] = (len(changelist_queries), len(partial_queries))
    assert counts[3] == counts[30], counts


def test_progress_of_a_page_says_what_each_asset_alone_says():
    history("render", 20)
    assets = moving_page(6)
    now = timezone.now()
    together = list_progress(Asset.objects.filter(pk__in=[asset.pk for asset in assets]).order_by("pk"), now=now)
    alone = [asset_progress(Asset.objects.get(pk=asset.pk), now=now) for asset in assets]
    keys = ("stage", "moving", "running", "queue", "position", "waiting_until", "retry", "wait", "eta")
    assert [{key: p.get(key) for key in keys} for p in together] == [{key: p.get(key) for key in keys} for p in alone]
    assert [[(e["state"], e.get("wait")) for e in p["publications"]] for p in together] == \
           [[(e["state"], e.get("wait")) for e in p["publications"]] for p in alone]
    assert any(p.get("position") for p in together) and any(p.get("wait") for p in together)
