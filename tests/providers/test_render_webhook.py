"""The render callback: an unguessable token per render in the URL, checked and spent once; all it does is
queue the next poll now."""

import json

import django_rq
import pytest
from django.db import transaction

from pipeline.models import Asset
from pipeline.providers.render.remote import USED_PREFIX, callback_digest
from tests.factories import make_asset

pytestmark = pytest.mark.django_db

TOKEN = "k3V9xq0H4m1u8XcOa2pZyJt7rW5sNbLe6dQfGiYhR0c"
RENDER_ID = "0f8e2c8a-7d0e-4a53-b1b4-3c8f3d1a9e10"


@pytest.fixture
def asset():
    asset = make_asset(Asset.State.RENDERING, providers={"render": "remote"})
    Asset.objects.filter(pk=asset.pk).update(render_remote_id=RENDER_ID, render_callback_digest=callback_digest(TOKEN))
    return asset


def body(status="done", render_id=RENDER_ID, **extra) -> bytes:
    payload = {"type": "edit", "action": "render", "id": render_id, "owner": "5ca6hu7s9k", "status": status,
               "url": f"https://cdn.test/{render_id}.mp4", "error": None, "completed": "2025-01-05T10:00:09Z"}
    payload.update(extra)
    return json.dumps(payload).encode()


def post(client, raw: bytes, token: str = TOKEN):
    return client.post(f"/webhooks/render/{token}/", data=raw, content_type="application/json")


def render_jobs(pk: int) -> list:
    return [job for job in django_rq.get_queue("render").jobs if job.args == (pk, "render")]


@pytest.mark.parametrize("status", ["done", "failed"])
def test_a_callback_with_the_renders_token_queues_the_render_stage_at_once(client, asset, status):
    response = post(client, body(status))

    assert response.status_code == 200 and response.json() == {"status": "queued", "asset": asset.pk}
    jobs = render_jobs(asset.pk)
    assert len(jobs) == 1 and jobs[0].func_name == "phantoms.engine.jobs.run_stage"
    asset.refresh_from_db()
    assert asset.job_id == jobs[0].id
    assert asset.state == Asset.State.RENDERING  # the callback itself changes nothing
    assert asset.render_callback_digest == USED_PREFIX + callback_digest(TOKEN)


def test_the_token_is_single_use(client, asset):
    first, again = post(client, body()), post(client, body("failed"))

    assert first.json()["status"] == "queued"
    assert again.status_code == 200 and again.json() == {"status": "duplicate", "asset": asset.pk}
    assert len(render_jobs(asset.pk)) == 1


def test_concurrent_deliveries_queue_once(asset, client):
    # Two deliveries racing for one token: the conditional UPDATE lets only one of them spend it.
    digest = callback_digest(TOKEN)
    with transaction.atomic():
        won = Asset.objects.filter(pk=asset.pk, render_callback_digest=digest).update(
            render_callback_digest=USED_PREFIX + digest)
    assert won == 1
    assert post(client, body()).json()["status"] == "duplicate" and render_jobs(asset.pk) == []


@pytest.mark.parametrize("token", ["wrong-token", TOKEN[:-1], TOKEN + "x", callback_digest(TOKEN)])
def test_an_unknown_token_is_refused_and_queues_nothing(client, asset, token):
    response = post(client, body(), token=token)
    assert response.status_code == 404 and response.json()["error"]["message"] == "unknown callback token"
    assert render_jobs(asset.pk) == []
    asset.refresh_from_db()
    assert asset.render_callback_digest == callback_digest(TOKEN)  # still spendable by the real callback


def test_the_old_unguarded_url_is_gone(client, asset):
    assert client.post("/webhooks/render/", data=body(), content_type="application/json").status_code == 404


def test_a_token_for_another_render_is_refused(client, asset):
    response = post(client, body(render_id="someone-elses-render"))
    assert response.status_code == 409 and list(response.json()["error"]["fields"]) == ["id"]
    assert render_jobs(asset.pk) == []
    assert post(client, body()).json()["status"] == "queued"  # the token was not spent


def test_a_new_submission_retires_the_old_token(client, asset):
    Asset.objects.filter(pk=asset.pk).update(render_remote_id="second-render",
                                             render_callback_digest=callback_digest("a-fresh-token"))
    assert post(client, body()).status_code == 404
    assert post(client, body(render_id="second-render"), token="a-fresh-token").json()["status"] == "queued"


@pytest.mark.parametrize(("raw", "field"), [
    (b"{not json", "body"),
    (b"[1, 2]", "body"),
    (json.dumps({"status": "done"}).encode(), "id"),
    (json.dumps({"id": RENDER_ID, "status": 3}).encode(), "status"),
])
def test_malformed_callbacks_are_400_naming_the_field(client, asset, raw, field):
    response = post(client, raw)
    assert response.status_code == 400
    error = response.json()["error"]  # the API's one error shape
    assert list(error["fields"]) == [field] and error["message"].startswith(f"{field}:")


def test_progress_and_serve_notifications_do_not_spend_the_token(client, asset):
    assert post(client, body("rendering")).json()["status"] == "ignored"
    assert post(client, body(type="serve", action="copy", status="ready")).json()["status"] == "ignored"
    assert render_jobs(asset.pk) == []
    assert post(client, body()).json()["status"] == "queued"


def test_an_asset_that_moved_on_queues_nothing(client):
    other = make_asset(Asset.State.AWAITING_REVIEW)
    Asset.objects.filter(pk=other.pk).update(render_remote_id="finished", render_callback_digest=callback_digest("t2"))
    response = post(client, body(render_id="finished"), token="t2")
    assert response.json() == {"status": "ignored", "asset": other.pk, "reason": "asset is awaiting_review"}
    assert render_jobs(other.pk) == []


def test_only_post_is_allowed(client, asset):
    assert client.get(f"/webhooks/render/{TOKEN}/").status_code == 405
