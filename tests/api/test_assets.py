"""The integration API for assets: submit a brief (idempotently), read, filter, approve and reject."""

import django_rq
import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rq.job import Job

from phantoms.engine.models import StageAttempt, TransitionLog
from pipeline.models import Asset
from publishing.models import Publication
from tests.api.conftest import client_for
from tests.factories import make_asset, make_channel, make_publication_in, make_publishing_asset, make_user

pytestmark = pytest.mark.django_db


def queued(name: str) -> int:
    return django_rq.get_queue(name).count


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/assets/"), ("post", "/api/assets/"), ("get", "/api/publications/"),
    ("get", "/api/dead-letters/"), ("get", "/api/breakers/"), ("get", "/api/status/"),
    ("get", "/api/metrics/"), ("get", "/api/rollups/"),
    ("post", "/api/assets/1/approve/"),
])
def test_every_endpoint_needs_a_token(method, path):
    response = getattr(APIClient(), method)(path, {"brief": "x"}, format="json")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"
    assert Asset.objects.count() == 0


@pytest.mark.parametrize("header", ["Bearer not-a-real-token", "Bearer abcdefgh.wrongsecret", "Bearer a b",
                                    "Token abcdefgh.secret"])
def test_a_wrong_token_is_refused(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/assets/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] in ("authentication_failed", "not_authenticated")


def test_posting_a_brief_creates_an_asset_in_scripting_with_its_job(api, user, run_on_commit):
    channels = [make_channel("youtube"), make_channel("x")]
    with run_on_commit():
        response = api.post("/api/assets/", {
            "brief": "  Why cats sleep sixteen hours a day  ", "title": "Sleepy cats",
            "channels": [c.pk for c in channels], "target_duration_seconds": 15,
            "providers": {"script": "offline", "voice": "openai"},
        }, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    asset = Asset.objects.get(pk=body["id"])
    assert body["state"] == asset.state == Asset.State.SCRIPTING
    assert asset.brief == "Why cats sleep sixteen hours a day"
    assert sorted(body["channels"]) == sorted(c.pk for c in channels)
    assert asset.target_duration_seconds == 15 and asset.providers == {"script": "offline", "voice": "openai"}
    assert asset.created_by == user
    assert queued("script") == 1
    job = Job.fetch(asset.job_id, connection=django_rq.get_connection("script"))
    assert job.args == (asset.pk, "script")
    log = asset.transitions.get()
    assert (log.from_state, log.to_state, log.actor) == ("draft", "scripting", "integration")


def test_the_same_idempotency_key_returns_the_same_asset(api, run_on_commit):
    payload = {"brief": "Five facts about octopuses"}
    with run_on_commit():
        first = api.post("/api/assets/", payload, format="json", HTTP_IDEMPOTENCY_KEY="order-42")
        second = api.post("/api/assets/", payload, format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert second.json()["brief"] == "Five facts about octopuses"
    assert Asset.objects.count() == 1
    assert queued("script") == 1

    with run_on_commit():
        other = api.post("/api/assets/", payload, format="json", HTTP_IDEMPOTENCY_KEY="order-43")
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert Asset.objects.count() == 2


def test_without_a_key_every_post_is_a_new_asset(api):
    ids = {api.post("/api/assets/", {"brief": "Same brief"}, format="json").json()["id"] for _ in range(2)}
    assert len(ids) == 2


def test_an_overlong_idempotency_key_is_a_400_naming_the_header(api):
    response = api.post("/api/assets/", {"brief": "b"}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 201)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert Asset.objects.count() == 0


@pytest.mark.parametrize(("payload", "field", "words"), [
    ({"brief": ""}, "brief", "blank"),
    ({"brief": "   "}, "brief", "blank"),
    ({}, "brief", "required"),
    ({"brief": "ok", "target_duration_seconds": 2}, "target_duration_seconds", "greater than or equal to 5"),
    ({"brief": "ok", "target_duration_seconds": 900}, "target_duration_seconds", "less than or equal to 180"),
    ({"brief": "ok", "target_duration_seconds": "soon"}, "target_duration_seconds", "valid integer"),
    ({"brief": "ok", "channels": [987654]}, "channels", "987654"),
    ({"brief": "ok", "providers": {"script": "gpt-9000"}}, "providers", "gpt-9000"),
    ({"brief": "ok", "providers": {"dance": "offline"}}, "providers", "dance"),
    ({"brief": "ok", "providers": ["offline"]}, "providers", "dictionary"),
    ({"brief": "ok", "providers": {"voice": "silence"}}, "providers", "providers.voice: 'silence' is for benchmarks"),
    ({"brief": "ok", "providers": {"render": "instant"}}, "providers", "providers.render: 'instant' is for benchmarks"),
    ({"brief": "word " + "x" * 61}, "brief", "at most 60"),
    ({"brief": "ok", "channels": list(range(1, 30))}, "channels", "at most 20"),
    ({"brief": "ok", "channels": [2**70]}, "channels", ""),
    ({"brief": "ok", "team": 987654}, "team", "987654"),
])
def test_bad_input_is_a_400_naming_the_field(api, payload, field, words):
    response = api.post("/api/assets/", payload, format="json")
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    assert body["code"] == "invalid"
    assert field in body["fields"], body
    assert words in " ".join(body["fields"][field]), body
    assert field in body["message"]
    assert Asset.objects.count() == 0
    assert queued("script") == 0


def test_an_inactive_channel_is_refused(api):
    channel = make_channel("tiktok", is_active=False)
    response = api.post("/api/assets/", {"brief": "ok", "channels": [channel.pk]}, format="json")
    assert response.status_code == 400 and "channels" in response.json()["error"]["fields"]


def test_list_filters_by_state(api):
    scripting = make_asset(Asset.State.SCRIPTING)
    review = [make_asset(Asset.State.AWAITING_REVIEW) for _ in range(2)]
    draft = make_asset(Asset.State.DRAFT)

    assert {a["id"] for a in results(api.get("/api/assets/", {"state": "awaiting_review"}))} == \
        {a.pk for a in review}
    both = results(api.get("/api/assets/?state=scripting&state=draft"))
    assert {a["id"] for a in both} == {scripting.pk, draft.pk}
    assert len(results(api.get("/api/assets/"))) == 4
    assert results(api.get("/api/assets/", {"state": "published"})) == []
    assert api.get("/api/assets/", {"state": "flying"}).status_code == 400


def test_list_filters_by_channel(api):
    channel = make_channel("instagram")
    mine = make_asset(Asset.State.SCRIPTING, channels=[channel])
    make_asset(Asset.State.SCRIPTING, channels=[make_channel("x")])
    assert [a["id"] for a in results(api.get("/api/assets/", {"channel": channel.pk}))] == [mine.pk]


def test_detail_has_attempts_transitions_and_publications(api):
    channel = make_channel("youtube")
    asset = make_publishing_asset(channels=[channel])
    publication = make_publication_in(asset, channel, Publication.State.PROCESSING)
    StageAttempt.objects.create(asset=asset, stage="script", provider="offline", number=1,
                                outcome=StageAttempt.Outcome.SUCCEEDED, finished_at=timezone.now(), duration_ms=12)
    StageAttempt.objects.create(asset=asset, publication=publication, stage="publish", provider="youtube",
                                number=1, outcome=StageAttempt.Outcome.TRANSIENT, error="503")

    response = api.get(f"/api/assets/{asset.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "publishing"
    assert [(a["stage"], a["outcome"]) for a in body["attempts_log"]] == [("script", "succeeded"),
                                                                          ("publish", "transient")]
    assert body["attempts_log"][1]["publication"] == publication.pk
    transitions = [(t["from_state"], t["to_state"]) for t in body["transitions"]]
    assert transitions[:5] == [("draft", "scripting"), ("scripting", "voicing"), ("voicing", "visualizing"),
                               ("visualizing", "rendering"), ("rendering", "awaiting_review")]
    assert ("approved", "publishing") in transitions
    assert len(transitions) == TransitionLog.objects.filter(asset=asset).count()
    assert [(p["id"], p["platform"], p["state"]) for p in body["publications"]] == [
        (publication.pk, "youtube", "processing")]
    assert api.get("/api/assets/999999/").status_code == 404


def test_approve_without_the_review_permission_is_403_and_changes_nothing(api):
    asset = make_asset(Asset.State.AWAITING_REVIEW, channels=[make_channel()])
    response = api.post(f"/api/assets/{asset.pk}/approve/", {"notes": "ship it"}, format="json")
    assert response.status_code == 403
    asset.refresh_from_db()
    assert asset.state == Asset.State.AWAITING_REVIEW and asset.reviewed_by is None
    assert Publication.objects.count() == 0 and queued("publish") == 0


def test_approve_fans_out_one_publication_per_channel(reviewer, run_on_commit):
    channels = [make_channel("youtube"), make_channel("tiktok"), make_channel("x")]
    asset = make_asset(Asset.State.AWAITING_REVIEW, channels=channels)
    with run_on_commit():
        response = reviewer.post(f"/api/assets/{asset.pk}/approve/", {"notes": "lovely"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "publishing"
    asset.refresh_from_db()
    assert asset.state == Asset.State.PUBLISHING
    assert asset.reviewed_by.username == "reviewer" and asset.review_notes == "lovely"
    publications = Publication.objects.filter(asset=asset)
    assert sorted(p.channel_id for p in publications) == sorted(c.pk for c in channels)
    assert {p.state for p in publications} == {Publication.State.PENDING}
    assert queued("publish") == 3
    assert asset.transitions.filter(to_state="approved", actor="reviewer").count() == 1


def test_approving_an_asset_with_no_channels_settles_it(reviewer, run_on_commit):
    asset = make_asset(Asset.State.AWAITING_REVIEW)
    with run_on_commit():
        assert reviewer.post(f"/api/assets/{asset.pk}/approve/", format="json").status_code == 200
    asset.refresh_from_db()
    assert asset.state == Asset.State.PUBLISHED


@pytest.mark.parametrize("state", [Asset.State.RENDERING, Asset.State.PUBLISHING, Asset.State.CANCELLED])
def test_approving_an_asset_not_awaiting_review_is_409(reviewer, state):
    asset = make_publishing_asset() if state == Asset.State.PUBLISHING else make_asset(Asset.State.RENDERING)
    if state == Asset.State.CANCELLED:
        from tests.factories import advance

        advance(asset, "cancel")
    response = reviewer.post(f"/api/assets/{asset.pk}/approve/", format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert "not awaiting review" in response.json()["error"]["message"]
    asset.refresh_from_db()
    assert asset.state == state


def test_approving_a_missing_asset_is_404(reviewer):
    assert reviewer.post("/api/assets/424242/approve/", format="json").status_code == 404


def test_reject_with_rewrite_sends_it_back_to_scripting_with_the_notes(reviewer, run_on_commit):
    asset = make_asset(Asset.State.AWAITING_REVIEW)
    with run_on_commit():
        response = reviewer.post(f"/api/assets/{asset.pk}/reject/",
                                 {"rewrite": True, "notes": "open with the surprising fact"}, format="json")
    assert response.status_code == 200, response.content
    asset.refresh_from_db()
    assert asset.state == Asset.State.SCRIPTING
    assert asset.review_notes == "open with the surprising fact"
    assert queued("script") == 1
    log = asset.transitions.last()
    assert (log.from_state, log.to_state, log.reason) == ("awaiting_review", "scripting",
                                                          "open with the surprising fact")


def test_reject_without_rewrite_rejects_for_good(reviewer):
    asset = make_asset(Asset.State.AWAITING_REVIEW)
    response = reviewer.post(f"/api/assets/{asset.pk}/reject/", {"notes": "off brand"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "rejected"
    assert queued("script") == 0


def test_a_rewrite_without_notes_is_a_400_naming_notes(reviewer):
    asset = make_asset(Asset.State.AWAITING_REVIEW)
    response = reviewer.post(f"/api/assets/{asset.pk}/reject/", {"rewrite": True, "notes": "  "}, format="json")
    assert response.status_code == 400
    assert "notes" in response.json()["error"]["fields"]
    asset.refresh_from_db()
    assert asset.state == Asset.State.AWAITING_REVIEW


def test_reject_needs_the_reject_permission(db):
    asset = make_asset(Asset.State.AWAITING_REVIEW)
    api = client_for(make_user("approver only", roles=["approver"]))
    response = api.post(f"/api/assets/{asset.pk}/reject/", {"rewrite": True, "notes": "x"}, format="json")
    assert response.status_code == 403
    asset.refresh_from_db()
    assert asset.state == Asset.State.AWAITING_REVIEW


def test_benchmark_providers_are_selectable_only_when_the_setting_allows(api, settings):
    settings.BENCHMARK_PROVIDERS = True
    response = api.post("/api/assets/", {"brief": "ok", "providers": {"voice": "silence", "render": "instant"}},
                        format="json")
    assert response.status_code == 201, response.content


def test_a_brief_chooses_its_visuals_provider_and_theme(api):
    response = api.post("/api/assets/", {"brief": "Tide pools", "providers": {"visuals": "pexels"},
                                         "visual_theme": "ocean"}, format="json")
    assert response.status_code == 201, response.content
    asset = Asset.objects.get(pk=response.json()["id"])
    assert asset.providers == {"visuals": "pexels"} and asset.visual_theme == "ocean"
    body = api.get(f"/api/assets/{asset.pk}/").json()
    assert body["visual_theme"] == "ocean" and body["visuals"] == [] and body["cover_url"] is None


@pytest.mark.parametrize(("payload", "field"), [
    ({"visual_theme": "neon"}, "visual_theme"),
    ({"providers": {"visuals": "holograms"}}, "providers"),
])
def test_an_unknown_theme_or_visuals_provider_is_a_400_naming_the_field(api, payload, field):
    response = api.post("/api/assets/", {"brief": "Tide pools", **payload}, format="json")
    assert response.status_code == 400 and field in response.json()["error"]["fields"]
    assert Asset.objects.count() == 0


def test_the_list_is_lean_and_the_detail_is_whole(api, user, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pipeline.api.serializers import LIST_FIELDS, AssetListSerializer

    channels = [make_channel("youtube"), make_channel("x")]
    asset = make_asset(Asset.State.AWAITING_REVIEW, channels=channels, title="Sleep")
    Asset.objects.filter(pk=asset.pk).update(render_spec={"big": "x" * 10_000}, word_timings=[{"word": "w"}] * 500,
                                             script={"beats": []}, video="assets/1/video.mp4")
    asset.refresh_from_db()
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/assets/")
    rows = results(response)

    assert list(rows[0]) == LIST_FIELDS
    # The same shape as the serializer the schema documents, field for field (links are signed with
    # the time, so they are compared by what they point at).
    expected = dict(AssetListSerializer(asset, context={"request": None}).data)
    links = ("video_url", "cover_url")
    assert {k: v for k, v in rows[0].items() if k not in links} == {k: v for k, v in expected.items() if k not in links}
    assert rows[0]["channels"] == [c.pk for c in sorted(channels, key=lambda c: (c.platform, c.name))]
    assert rows[0]["video_url"].startswith("http://testserver/") and rows[0]["video_url"].endswith("/video.mp4")
    assert rows[0]["cover_url"] is None
    reads = " ".join(q["sql"] for q in queries.captured_queries if "pipeline_asset" in q["sql"])
    assert "render_spec" not in reads and "word_timings" not in reads and '"script"' not in reads
    detail = api.get(f"/api/assets/{asset.pk}/").json()
    assert {"script", "usage", "visuals", "attempts_log", "transitions", "publications"} <= set(detail)


def test_an_unchanged_list_answers_304_before_reading_a_row(api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    asset = make_asset(Asset.State.SCRIPTING)
    first = api.get("/api/assets/")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]

    with CaptureQueriesContext(connection) as queries:
        again = api.get("/api/assets/", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and not again.content
    assert not [q for q in queries.captured_queries if "SELECT" in q["sql"] and '"pipeline_asset"."brief"' in q["sql"]]
    assert api.get("/api/assets/", HTTP_IF_MODIFIED_SINCE=modified).status_code == 304

    # A change the list shows (a deferral's attempt count) is a new version.
    from phantoms.engine.outcome import defer
    from pipeline.stages import STAGES

    Asset.objects.filter(pk=asset.pk).update(lease_owner="t")
    defer(STAGES["script"], asset.pk, "t", 5.0, error="boom", attempts=1)
    changed = api.get("/api/assets/", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and results(changed)[0]["attempts"] == 1
    assert changed.headers["ETag"] != etag
    # Another filter is another listing.
    assert api.get("/api/assets/?state=published", HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_cursor_pages_walk_the_table_without_a_count(api):
    made = [make_asset(Asset.State.DRAFT).pk for _ in range(5)]
    seen, url = [], "/api/assets/?cursor=&limit=2"
    while url:
        body = api.get(url).json()
        assert "count" not in body
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert seen == sorted(made, reverse=True)
    assert api.get("/api/assets/?cursor=&limit=0").status_code == 400
    assert api.get("/api/assets/?cursor=&limit=501").status_code == 400


def test_a_cursor_the_list_never_gave_is_a_400_naming_it(api):
    response = api.get("/api/assets/?cursor=not-a-cursor")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["cursor"]
