"""The operator's side of the API: publications, dead letters (+ requeue), breakers, metrics, schema."""

from datetime import timedelta

import django_rq
import pytest
from django.conf import settings
from django.utils import timezone

from phantoms.engine.models import DeadLetter
from phantoms.resilience.breakers import get_breaker
from pipeline.models import Asset
from publishing.models import Publication
from tests.factories import (
    make_asset,
    make_channel,
    make_failed_asset,
    make_letter,
    make_publication_in,
    make_publishing_asset,
)

pytestmark = pytest.mark.django_db
P = Publication.State


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_publications_list_and_filters(api):
    youtube, tiktok = make_channel("youtube"), make_channel("tiktok")
    first, second = make_publishing_asset(), make_publishing_asset()
    live = make_publication_in(first, youtube, P.PUBLISHED)
    stuck = make_publication_in(first, tiktok, P.NEEDS_ATTENTION)
    pending = make_publication_in(second, youtube)

    assert ids(api.get("/api/publications/")) == {live.pk, stuck.pk, pending.pk}
    assert ids(api.get("/api/publications/", {"state": "needs_attention"})) == {stuck.pk}
    assert ids(api.get("/api/publications/", {"asset": first.pk})) == {live.pk, stuck.pk}
    assert ids(api.get("/api/publications/", {"channel__platform": "youtube"})) == {live.pk, pending.pk}
    assert ids(api.get("/api/publications/", {"asset": first.pk, "state": "published"})) == {live.pk}
    row = api.get(f"/api/publications/{stuck.pk}/").json()
    assert (row["platform"], row["state"], row["asset"], row["failed_stage"]) == ("tiktok", "needs_attention",
                                                                                  first.pk, "publish")


def test_publications_are_read_only(api):
    publication = make_publication_in(make_publishing_asset(), make_channel())
    assert api.post("/api/publications/", {"asset": publication.asset_id}, format="json").status_code == 405
    assert api.delete(f"/api/publications/{publication.pk}/").status_code == 405


def test_dead_letters_list_with_filters(api):
    now = timezone.now()
    script_asset = make_failed_asset("script")
    old = make_letter(script_asset, stage="script", last_failed_at=now - timedelta(days=3))
    publishing = make_failed_asset("publish")
    tiktok = make_publication_in(publishing, make_channel("tiktok"), P.FAILED)
    youtube = make_publication_in(publishing, make_channel("youtube"), P.FAILED)
    on_tiktok = make_letter(publishing, stage="publish", publication=tiktok, error_class="permanent")
    on_youtube = make_letter(publishing, stage="publish", publication=youtube,
                             last_failed_at=now - timedelta(hours=1))
    done = make_letter(make_failed_asset("render"), stage="render", status=DeadLetter.Status.REQUEUED)

    assert ids(api.get("/api/dead-letters/")) == {old.pk, on_tiktok.pk, on_youtube.pk, done.pk}
    assert ids(api.get("/api/dead-letters/", {"stage": "publish"})) == {on_tiktok.pk, on_youtube.pk}
    assert ids(api.get("/api/dead-letters/", {"platform": "tiktok"})) == {on_tiktok.pk}
    since = (now - timedelta(hours=2)).isoformat()
    assert ids(api.get("/api/dead-letters/", {"since": since})) == {on_tiktok.pk, on_youtube.pk, done.pk}
    assert ids(api.get("/api/dead-letters/", {"since": since, "stage": "publish", "platform": "youtube"})) == \
        {on_youtube.pk}
    assert ids(api.get("/api/dead-letters/", {"status": "open"})) == {old.pk, on_tiktok.pk, on_youtube.pk}
    assert ids(api.get("/api/dead-letters/", {"error_class": "permanent"})) == {on_tiktok.pk}
    assert ids(api.get("/api/dead-letters/", {"queue": "render"})) == {done.pk}
    assert api.get("/api/dead-letters/", {"since": "last tuesday"}).status_code == 400

    row = api.get(f"/api/dead-letters/{on_tiktok.pk}/").json()
    assert (row["asset"], row["publication"], row["stage"], row["platform"], row["status"]) == (
        publishing.pk, tiktok.pk, "publish", "tiktok", "open")
    assert row["error_message"] == "publish provider timed out"


def test_requeueing_a_letter_twice_resumes_the_asset_once(operator, run_on_commit):
    asset = make_failed_asset("voice")
    letter = make_letter(asset, stage="voice")

    with run_on_commit():
        first = operator.post(f"/api/dead-letters/{letter.pk}/requeue/")
        second = operator.post(f"/api/dead-letters/{letter.pk}/requeue/")

    assert first.status_code == 200, first.content
    assert first.json()["requeued"] is True and first.json()["status"] == "requeued"
    assert first.json()["requeued_by"] == "operator"
    assert second.status_code == 409
    assert "already requeued" in second.json()["error"]["message"]
    asset.refresh_from_db()
    assert asset.state == Asset.State.VOICING and asset.attempts == 0
    assert asset.transitions.filter(from_state="failed").count() == 1
    assert django_rq.get_queue("voice").count == 1
    letter.refresh_from_db()
    assert letter.status == DeadLetter.Status.REQUEUED and letter.requeued_at is not None


def test_requeueing_a_publication_letter_retries_that_publication(operator, run_on_commit):
    asset = make_failed_asset("publish")
    failed = make_publication_in(asset, make_channel("x"), P.FAILED)
    letter = make_letter(asset, stage="publish", publication=failed)

    with run_on_commit():
        response = operator.post(f"/api/dead-letters/{letter.pk}/requeue/")

    assert response.status_code == 200, response.content
    failed.refresh_from_db()
    asset.refresh_from_db()
    assert failed.state == P.PENDING and asset.state == Asset.State.PUBLISHING
    assert django_rq.get_queue("publish").count == 1


def test_requeue_needs_the_permission(api):
    asset = make_failed_asset("script")
    letter = make_letter(asset)
    assert api.post(f"/api/dead-letters/{letter.pk}/requeue/").status_code == 403
    letter.refresh_from_db()
    asset.refresh_from_db()
    assert letter.status == DeadLetter.Status.OPEN and asset.state == Asset.State.FAILED


def test_requeue_of_a_missing_letter_is_404(operator):
    assert operator.post("/api/dead-letters/987654/requeue/").status_code == 404


def test_breakers_lists_every_breaker_with_its_state(operator):
    get_breaker("tiktok").force_open("test")
    response = operator.get("/api/breakers/")
    assert response.status_code == 200
    rows = {row["name"]: row for row in response.json()}
    assert set(rows) == set(settings.BREAKERS)
    assert rows["tiktok"]["state"] == "open" and rows["tiktok"]["probe_at"]
    assert {rows[name]["state"] for name in rows if name != "tiktok"} == {"closed"}
    assert rows["openai"]["fail_max"] == settings.BREAKERS["openai"]["fail_max"]


def test_metrics_counts_everything(api):
    for _ in range(2):
        make_asset(Asset.State.SCRIPTING)
    make_asset(Asset.State.AWAITING_REVIEW)
    failed = make_failed_asset("render")
    make_letter(failed, stage="render")
    make_letter(make_failed_asset("script"), stage="script", status=DeadLetter.Status.REQUEUED)
    publishing = make_publishing_asset()
    make_publication_in(publishing, make_channel(), P.PROCESSING)
    make_publication_in(publishing, make_channel(), P.PROCESSING)
    make_publication_in(publishing, make_channel(), P.FAILED)
    django_rq.get_queue("script").enqueue("phantoms.engine.jobs.run_stage", 1, "script")

    response = api.get("/api/status/")
    assert response.status_code == 200
    body = response.json()
    assert body["assets"] == {"scripting": 2, "awaiting_review": 1, "failed": 2, "publishing": 1}
    assert body["publications"] == {"processing": 2, "failed": 1}
    assert body["dead_letters"] == {"open": 1, "by_stage": {"render": 1}}
    assert set(body["queues"]) == set(settings.PIPELINE_QUEUES)
    assert body["queues"]["script"]["queued"] == 1 and body["queues"]["voice"]["queued"] == 0
    assert {b["name"] for b in body["breakers"]} == set(settings.BREAKERS)


def test_schema_is_an_openapi_document_with_the_asset_paths(api):
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in ("/api/assets/", "/api/assets/{id}/approve/", "/api/assets/{id}/reject/", "/api/publications/",
                 "/api/dead-letters/", "/api/dead-letters/{id}/requeue/", "/api/breakers/", "/api/status/",
                 "/api/metrics/", "/api/rollups/"):
        assert path in schema["paths"], path
    create = schema["paths"]["/api/assets/"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in create["parameters"])


def test_docs_render(api):
    response = api.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html.lower() and "/api/schema/" in html
