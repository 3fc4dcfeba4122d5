"""Hostile requests of the kind that once answered 5xx, HTML or silence: each is now a 4xx in the one
JSON error shape, naming the field, and changes nothing."""

import json

import pytest
from django.conf import settings
from django.urls import reverse

from phantoms.engine.models import DeadLetter
from pipeline.models import Asset
from pipeline.providers.render.remote import callback_digest
from tests.admin.factories import make_staff
from tests.api.conftest import client_for
from tests.factories import make_asset, make_failed_asset, make_letter, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_throttling(settings):
    settings.API_THROTTLE_RATES = {}


@pytest.fixture
def everyone(db):
    """A session holding every role: whatever fails below fails on the input, not on a permission."""
    return client_for(make_user("all", roles=["viewer", "editor", "approver", "operator"]))


def error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]


@pytest.mark.parametrize("path", [
    "/api/assets/abc/", "/api/assets/abc/approve/", "/api/assets/abc/reject/", "/api/dead-letters/abc/requeue/",
    "/api/assets/0/", "/api/assets/-5/approve/", f"/api/assets/{10**30}/", f"/api/dead-letters/{2**63}/requeue/",
    "/api/publications/1e3/", "/api/audit/%C3%A9/",
])
def test_a_bad_id_in_the_path_is_a_400_naming_id(everyone, path):
    method = everyone.post if path.endswith(("approve/", "reject/", "requeue/")) else everyone.get
    body = error(method(path, {}, format="json"), 400)
    assert "id" in body["fields"] and body["code"] == "invalid"


@pytest.mark.parametrize(("path", "field"), [
    ("/api/assets/?created_after=2024-01-01T00:00:00%2B20:00", None),
    ("/api/dead-letters/?since=2024-01-01T00:00:00-23:59", None),
    ("/api/assets/?created_after=0001-01-01T00:00:00%2B05:00", "created_after"),
    ("/api/dead-letters/?since=9999-12-31T23:59:59-05:00", "since"),
    ("/api/assets/?created_after=yesterday", "created_after"),
    (f"/api/assets/?limit={10**20}", "limit"),
    (f"/api/assets/?offset={10**20}", "offset"),
    ("/api/assets/?limit=0", "limit"),
    ("/api/assets/?limit=-1", "limit"),
    ("/api/assets/?limit=ten", "limit"),
    ("/api/publications/?limit=501", "limit"),
    (f"/api/assets/?channel={10**30}", "channel"),
    ("/api/assets/?team=x", "team"),
    (f"/api/publications/?asset={10**30}", "asset"),
    ("/api/dead-letters/?status=nope", "status"),
    ("/api/audit/?action=nope", "action"),
])
def test_query_parameters_are_validated(everyone, path, field):
    response = everyone.get(path)
    if field is None:  # a far offset is turned into UTC before PostgreSQL sees it
        assert response.status_code == 200, response.content
    else:
        assert field in error(response, 400)["fields"]


def test_a_page_holds_at_most_500_rows(everyone):
    for _ in range(3):
        make_asset()
    body = everyone.get("/api/assets/?limit=500").json()
    assert body["count"] == 3 and len(body["results"]) == 3


@pytest.mark.parametrize("payload", [
    "[" * 100_000 + "]" * 100_000,
    json.dumps({"brief": "x", "providers": {"script": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {
        "i": {"j": {}}}}}}}}}}}}}),
    json.dumps({"brief": "x", "channels": list(range(5000))}),
    json.dumps({"brief": "x", **{f"k{i}": i for i in range(500)}}),
    '{"brief": NaN}',
    '{"brief": "unterminated',
    b'{"brief": "\xff\xfe"}',
])
def test_hostile_json_bodies_are_a_400_naming_the_body(everyone, payload):
    raw = payload.encode() if isinstance(payload, str) else payload
    body = error(everyone.post("/api/assets/", raw, content_type="application/json"), 400)
    assert "body" in body["fields"], body
    assert not Asset.objects.exists()


@pytest.mark.parametrize(("brief", "words"), [("nul \x00 byte", "Null characters"),
                                              ("lone \ud800 surrogate", "Surrogate characters")])
def test_nul_and_surrogates_are_refused(everyone, brief, words):
    raw = json.dumps({"brief": brief}).encode()
    body = error(everyone.post("/api/assets/", raw, content_type="application/json"), 400)
    assert words in " ".join(body["fields"]["brief"])


def test_a_body_over_the_limit_is_a_json_413(everyone, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    raw = json.dumps({"brief": "x" * 2000}).encode()
    body = error(everyone.post("/api/assets/", raw, content_type="application/json"), 413)
    assert body["code"] == "too_large" and "body" in body["fields"]
    assert not Asset.objects.exists()


def test_a_body_that_is_not_json_is_a_json_415(everyone):
    body = error(everyone.post("/api/assets/", "brief=x", content_type="application/x-www-form-urlencoded"), 415)
    assert body["code"] == "unsupported_media_type"


def test_unknown_paths_and_methods_answer_json(everyone):
    assert error(everyone.get("/api/nothing-here/"), 404)["code"] == "not_found"
    asset = make_asset()
    assert error(everyone.delete(f"/api/assets/{asset.pk}/"), 405)["code"] == "method_not_allowed"
    assert error(everyone.get(f"/api/assets/{asset.pk}/approve/"), 405)["code"] == "method_not_allowed"
    assert error(everyone.get("/webhooks/render/some-token/"), 405)["code"] == "method_not_allowed"
    assert error(everyone.post("/webhooks/render/", {}), 404)["code"] == "not_found"  # a callback needs its token


def test_the_render_webhook_answers_hostile_bodies_in_the_same_shape(client, settings):
    token = "a-callback-token-for-this-test-0123456789abcdef"
    asset = make_asset(Asset.State.RENDERING)
    Asset.objects.filter(pk=asset.pk).update(render_remote_id="r-1", render_callback_digest=callback_digest(token))
    url = f"/webhooks/render/{token}/"
    raw = ("[" * 50_000 + "]" * 50_000).encode()
    assert "body" in error(client.post(url, raw, content_type="application/json"), 400)["fields"]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    assert error(client.post(url, b"x" * 500, content_type="application/json"), 413)
    assert error(client.post("/webhooks/render/not-a-token/", b"{}", content_type="application/json"), 404)
    assert error(client.post("/webhooks/render/", b"{}", content_type="application/json"), 404)


def test_a_brief_with_an_unspeakable_word_is_refused_at_the_door(everyone):
    body = error(everyone.post("/api/assets/", {"brief": "look: " + "a" * 500}, format="json"), 400)
    assert "brief" in body["fields"] and "60" in body["fields"]["brief"][0]


# --- the queue dashboard (django-rq)

def test_the_queue_dashboard_is_for_operators_only(client):
    client.force_login(make_staff("editor", roles=["editor", "approver", "viewer"]))
    assert client.get("/admin/rq/").status_code == 403
    assert client.post("/admin/rq/queues/4/empty/").status_code == 403
    client.force_login(make_staff("operator", roles=["operator"]))
    assert client.get("/admin/rq/").status_code == 200
    assert client.get("/admin/rq/queues/0/").status_code == 200


def test_the_queue_dashboard_sends_strangers_to_the_login(client):
    response = client.get("/admin/rq/queues/0/")
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


@pytest.mark.parametrize("path", ["/admin/rq/queues/99/", f"/admin/rq/queues/{len(settings.PIPELINE_QUEUES)}/empty/",
                                  "/admin/rq/workers/42/",
                                  "/admin/rq/schedulers/17/", "/admin/rq/queues/0/no-such-job/",
                                  "/admin/rq/cron-schedulers/9/x/"])
def test_a_bad_queue_index_is_a_404_not_a_500(client, path):
    client.force_login(make_staff("operator", roles=["operator"]))
    assert client.get(path).status_code == 404


def test_requeue_of_a_letter_twice_is_a_conflict_in_the_error_shape(everyone):
    letter = make_letter(make_failed_asset("script"))
    assert everyone.post(f"/api/dead-letters/{letter.pk}/requeue/").status_code == 200
    assert error(everyone.post(f"/api/dead-letters/{letter.pk}/requeue/"), 409)["code"] == "conflict"
    assert DeadLetter.objects.get().status == DeadLetter.Status.REQUEUED
