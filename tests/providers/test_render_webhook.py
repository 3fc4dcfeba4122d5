"""The render callback: HMAC-verified, fresh, replay-safe, and all it does is queue the next poll now."""

import hashlib
import hmac
import json
import time

import django_rq
import pytest

from pipeline.models import Asset
from sandbox.views.render import sign as sandbox_sign
from tests.factories import make_asset

pytestmark = pytest.mark.django_db

URL = "/webhooks/render/"
SECRET = "webhook-test-secret"
RENDER_ID = "0f8e2c8a-7d0e-4a53-b1b4-3c8f3d1a9e10"


@pytest.fixture(autouse=True)
def secret(settings):
    settings.RENDER_WEBHOOK_SECRET = SECRET
    settings.RENDER_WEBHOOK_TOLERANCE = 300


@pytest.fixture
def asset():
    asset = make_asset(Asset.State.RENDERING, providers={"render": "remote"})
    Asset.objects.filter(pk=asset.pk).update(render_remote_id=RENDER_ID)
    return asset


def body(status="done", render_id=RENDER_ID) -> bytes:
    return json.dumps({"type": "edit", "action": "render", "id": render_id, "status": status,
                       "url": f"https://cdn.test/{render_id}.mp4", "error": None}).encode()


def signature(raw: bytes, timestamp: str, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()


def post(client, raw: bytes, *, timestamp: str | None = None, sig: str | None = None):
    timestamp = timestamp if timestamp is not None else str(int(time.time()))
    headers = {"HTTP_X_PHANTOMS_TIMESTAMP": timestamp,
               "HTTP_X_PHANTOMS_SIGNATURE": sig if sig is not None else signature(raw, timestamp)}
    return client.post(URL, data=raw, content_type="application/json", **headers)


def render_jobs(pk: int) -> list:
    return [job for job in django_rq.get_queue("render").jobs if job.args == (pk, "render")]


@pytest.mark.parametrize("status", ["done", "failed"])
def test_a_valid_callback_queues_the_render_stage_at_once(client, asset, status):
    response = post(client, body(status))

    assert response.status_code == 200 and response.json() == {"status": "queued", "asset": asset.pk}
    jobs = render_jobs(asset.pk)
    assert len(jobs) == 1 and jobs[0].func_name == "phantoms.engine.jobs.run_stage"
    asset.refresh_from_db()
    assert asset.job_id == jobs[0].id
    assert asset.state == Asset.State.RENDERING  # the callback itself changes nothing


def test_the_sandbox_signature_verifies(client, asset):
    raw, timestamp = body(), str(int(time.time()))
    response = post(client, raw, timestamp=timestamp, sig=sandbox_sign(raw, timestamp, SECRET))
    assert response.status_code == 200 and len(render_jobs(asset.pk)) == 1


@pytest.mark.parametrize("sig,problem", [
    (signature(body(), "0", secret="wrong-secret"), "invalid X-Phantoms-Signature"),
    ("", "missing X-Phantoms-Signature header"),
    ("sha256=" + "0" * 64, "invalid X-Phantoms-Signature"),
])
def test_a_bad_signature_is_refused(client, asset, sig, problem):
    response = post(client, body(), sig=sig)

    assert response.status_code == 403 and response.json()["error"]["message"] == problem
    assert render_jobs(asset.pk) == []


def test_a_tampered_body_does_not_verify(client, asset):
    timestamp = str(int(time.time()))
    sig = signature(body("failed"), timestamp)

    response = post(client, body("done"), timestamp=timestamp, sig=sig)

    assert response.status_code == 403 and render_jobs(asset.pk) == []


def test_a_replayed_callback_is_ignored(client, asset):
    raw, timestamp = body(), str(int(time.time()))

    first = post(client, raw, timestamp=timestamp)
    second = post(client, raw, timestamp=timestamp)

    assert first.json()["status"] == "queued"
    assert second.status_code == 200 and second.json()["status"] == "duplicate"
    assert len(render_jobs(asset.pk)) == 1


@pytest.mark.parametrize("age", [301, -301, 86400])
def test_a_stale_timestamp_is_refused_even_with_a_valid_signature(client, asset, age):
    timestamp = str(int(time.time()) - age)

    response = post(client, body(), timestamp=timestamp)

    assert response.status_code == 403 and "stale X-Phantoms-Timestamp" in response.json()["error"]["message"]
    assert render_jobs(asset.pk) == []


def test_a_timestamp_that_is_not_a_number_is_refused(client, asset):
    response = post(client, body(), timestamp="yesterday")
    assert response.status_code == 403 and "epoch seconds" in response.json()["error"]["message"]


def test_an_unknown_render_id_is_404(client, asset):
    response = post(client, body(render_id="not-ours"))
    assert response.status_code == 404 and "not-ours" in response.json()["error"]["message"]


@pytest.mark.parametrize("raw,field", [
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


def test_progress_callbacks_and_assets_that_moved_on_queue_nothing(client, asset):
    assert post(client, body("rendering")).json()["status"] == "ignored"

    other = make_asset(Asset.State.AWAITING_REVIEW)
    Asset.objects.filter(pk=other.pk).update(render_remote_id="finished-render")
    response = post(client, body("done", render_id="finished-render"))

    assert response.json() == {"status": "ignored", "asset": other.pk, "reason": "asset is awaiting_review"}
    assert render_jobs(asset.pk) == [] and render_jobs(other.pk) == []


def test_only_post_is_allowed(client):
    assert client.get(URL).status_code == 405
