"""The remote renderer: one step per stage run (submit, poll, download), state kept in PostgreSQL.

The first half replays recorded Shotstack-shaped answers with respx; the second drives the real
sandbox service over HTTP.
"""

import hashlib
import json
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.utils import timezone

from phantoms.engine import runner
from phantoms.engine.handler import Context
from phantoms.engine.models import DeadLetter
from phantoms.resilience.errors import NotReady, PermanentError, TransientError
from pipeline.media.ffmpeg import ffmpeg_exe, probe
from pipeline.media.render import RenderSpec
from pipeline.models import Asset
from pipeline.providers.render.remote import RemoteRenderer
from pipeline.stages import STAGES
from sandbox.models import SandboxRender
from tests.providers.conftest import PUBLIC_URL, RENDER_URL, recorded, rendering_asset

RENDER_ID = "d2b46ed6-998a-4d6b-9d91-b8cf0193a655"
OUTPUT_URL = f"https://cdn.render.test/{RENDER_ID}.mp4"


@pytest.fixture(scope="module")
def tiny_mp4(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("mp4") / "out.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=blue:s=108x192:r=30:d=1",
                    "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono", "-t", "1", "-c:v", "libx264",
                    "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(path)], check=True, timeout=60)
    return path.read_bytes()


def leased(asset) -> Context:
    """Hold the asset's lease as the runner would, so the renderer may record its state."""
    ctx = Context(token=f"test-{asset.pk}-{time.monotonic_ns()}", job_id="job")
    Asset.objects.filter(pk=asset.pk).update(lease_owner=ctx.token, lease_expires_at=timezone.now() + timedelta(60))
    return ctx


def spec_for(asset) -> RenderSpec:
    data = STAGES["render"].render_spec(asset)
    return RenderSpec.from_dict(data)


def step(asset, ctx, out: Path | None = None):
    asset.refresh_from_db()
    out = out or Path(asset.audio.path).with_name("video.part.mp4")
    return RemoteRenderer().render(asset, spec_for(asset), out, None, ctx=ctx)


def remote_state(asset) -> dict:
    asset.refresh_from_db()
    return (asset.render_spec or {}).get("remote") or {}


def submit_route(mock):
    return mock.post(f"{RENDER_URL}/render").mock(
        return_value=httpx.Response(201, json=recorded("render_queued.json")))


def status_route(mock, *fixtures):
    return mock.get(f"{RENDER_URL}/render/{RENDER_ID}").mock(
        side_effect=[httpx.Response(200, json=recorded(name)) for name in fixtures])


@pytest.mark.django_db
class TestRecorded:
    def test_submit_records_the_id_under_the_lease_and_defers_without_waiting(self, render_api, settings):
        route = submit_route(render_api)
        asset = rendering_asset(settings.MEDIA_ROOT)
        ctx = leased(asset)

        with pytest.raises(NotReady) as caught:
            step(asset, ctx)

        assert caught.value.retry_after == 1.0
        asset.refresh_from_db()
        assert asset.render_remote_id == RENDER_ID
        state = remote_state(asset)
        assert state["id"] == RENDER_ID and state["polls"] == 0 and state["fingerprint"]
        payload = json.loads(route.calls.last.request.content)
        assert payload["duration"] == pytest.approx(asset.audio_duration, abs=0.001)
        assert payload["callback"] == f"{PUBLIC_URL}/webhooks/render/"
        assert payload["output"] == {"format": "mp4", "fps": 30, "size": {"width": 1080, "height": 1920}}
        tracks = payload["timeline"]["tracks"]
        assert tracks[-1]["clips"][0]["asset"] == {"type": "audio", "volume": 1,
                                                   "src": f"{PUBLIC_URL}/media/assets/{asset.pk}/voice.wav"}
        captions = [clip["asset"]["text"] for track in tracks[:-1] for clip in track["clips"]]
        assert asset.title in captions and len(captions) > 2
        request = route.calls.last.request
        assert request.headers["x-api-key"] == "render-key"

    def test_a_submission_without_the_lease_records_nothing(self, render_api, settings):
        submit_route(render_api)
        asset = rendering_asset(settings.MEDIA_ROOT)
        leased(asset)

        with pytest.raises(TransientError, match="lost the lease"):
            step(asset, Context(token="someone-else", job_id=""))
        asset.refresh_from_db()
        assert asset.render_remote_id == ""

    def test_polls_back_off_and_never_resubmit(self, render_api, settings):
        submit = submit_route(render_api)
        status_route(render_api, "render_rendering.json", "render_rendering.json", "render_rendering.json")
        asset = rendering_asset(settings.MEDIA_ROOT)
        ctx = leased(asset)
        with pytest.raises(NotReady):
            step(asset, ctx)

        waits = []
        for _ in range(3):
            with pytest.raises(NotReady) as caught:
                step(asset, ctx)
            waits.append(caught.value.retry_after)

        assert waits == [2.0, 4.0, 5.0]  # doubling from RENDER_POLL_INTERVAL, capped at the maximum
        assert submit.call_count == 1
        assert remote_state(asset)["polls"] == 3 and remote_state(asset)["status"] == "rendering"

    def test_done_streams_checksums_and_probes_the_output(self, render_api, settings, tiny_mp4):
        submit_route(render_api)
        status_route(render_api, "render_done.json")
        download = render_api.get(OUTPUT_URL).mock(return_value=httpx.Response(200, content=tiny_mp4))
        asset = rendering_asset(settings.MEDIA_ROOT)
        ctx = leased(asset)
        with pytest.raises(NotReady):
            step(asset, ctx)
        out = Path(settings.MEDIA_ROOT) / "out.mp4"

        info = step(asset, ctx, out)

        assert out.read_bytes() == tiny_mp4
        assert info.video_codec == "h264" and (info.width, info.height) == (108, 192)
        state = remote_state(asset)
        assert state["status"] == "done" and state["sha256"] == hashlib.sha256(tiny_mp4).hexdigest()
        assert state["bytes"] == len(tiny_mp4)
        assert "x-api-key" not in download.calls.last.request.headers  # our key stays with the API

    def test_a_failed_render_is_permanent_with_the_services_message(self, render_api, settings):
        submit_route(render_api)
        status_route(render_api, "render_failed.json")
        asset = rendering_asset(settings.MEDIA_ROOT)
        ctx = leased(asset)
        with pytest.raises(NotReady):
            step(asset, ctx)

        with pytest.raises(PermanentError) as caught:
            step(asset, ctx)

        assert "voice.wav could not be downloaded (403)" in str(caught.value)
        assert remote_state(asset)["status"] == "failed"

    def test_the_deadline_is_permanent_and_a_requeue_submits_again(self, render_api, settings):
        submit = submit_route(render_api)
        status_route(render_api, "render_rendering.json")
        asset = rendering_asset(settings.MEDIA_ROOT)
        ctx = leased(asset)
        with pytest.raises(NotReady):
            step(asset, ctx)
        state = remote_state(asset)
        state["submitted_at"] = (timezone.now() - timedelta(seconds=601)).isoformat()
        Asset.objects.filter(pk=asset.pk).update(render_spec={**asset.render_spec, "remote": state})

        with pytest.raises(PermanentError, match="still rendering after 601 s"):
            step(asset, ctx)
        assert remote_state(asset)["status"] == "expired"

        with pytest.raises(NotReady):
            step(asset, ctx)
        assert submit.call_count == 2
        assert remote_state(asset)["replaced"]["id"] == RENDER_ID

    def test_changed_inputs_are_submitted_again(self, render_api, settings):
        submit = submit_route(render_api)
        asset = rendering_asset(settings.MEDIA_ROOT)
        ctx = leased(asset)
        with pytest.raises(NotReady):
            step(asset, ctx)
        Asset.objects.filter(pk=asset.pk).update(title="A different title")

        with pytest.raises(NotReady):
            step(asset, ctx)
        assert submit.call_count == 2

    def test_an_id_without_bookkeeping_is_polled_not_resubmitted(self, render_api, settings):
        submit = submit_route(render_api)
        status_route(render_api, "render_rendering.json")
        asset = rendering_asset(settings.MEDIA_ROOT)
        Asset.objects.filter(pk=asset.pk).update(render_remote_id=RENDER_ID)
        ctx = leased(asset)

        with pytest.raises(NotReady, match="is rendering"):
            step(asset, ctx)
        assert submit.call_count == 0


@pytest.mark.django_db(transaction=True)
class TestSandbox:
    def test_the_runner_never_resubmits_while_a_remote_id_exists(self, sandbox, settings):
        settings.RENDER_POLL_INTERVAL = 0.05
        settings.RENDER_POLL_MAX_INTERVAL = 0.2
        asset = rendering_asset(settings.MEDIA_ROOT)

        outcomes = [runner.run(STAGES["render"], asset.pk)]
        asset.refresh_from_db()
        first_id = asset.render_remote_id
        deadline = time.monotonic() + 40
        while outcomes[-1] != "succeeded" and time.monotonic() < deadline:
            time.sleep(0.2)
            outcomes.append(runner.run(STAGES["render"], asset.pk))

        assert outcomes[0] == "not_ready" and outcomes[-1] == "succeeded"
        assert SandboxRender.objects.count() == 1
        asset.refresh_from_db()
        assert asset.render_remote_id == first_id == SandboxRender.objects.get().render_id
        assert asset.state == Asset.State.AWAITING_REVIEW and asset.render_provider == "remote"
        video = Path(asset.video.path)
        assert asset.video_sha256 == hashlib.sha256(video.read_bytes()).hexdigest()
        info = probe(video)
        assert (info.width, info.height, info.video_codec) == (1080, 1920, "h264")
        assert info.duration == pytest.approx(asset.audio_duration, abs=0.2)
        assert asset.attempts == 0 and not asset.dead_letters.exists()  # polls are not attempts

    def test_a_failed_remote_render_is_dead_lettered_with_the_services_message(self, sandbox, settings,
                                                                              monkeypatch):
        from sandbox.views import render as sandbox_render

        # The sandbox's encoder is told to read a file that does not exist, so the render fails there.
        monkeypatch.setattr(sandbox_render, "_ffmpeg_command", lambda render, target: [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", "/nonexistent/input.mp4", str(target)])
        settings.RENDER_POLL_INTERVAL = 0.05
        settings.RENDER_POLL_MAX_INTERVAL = 0.2
        asset = rendering_asset(settings.MEDIA_ROOT)

        outcome = runner.run(STAGES["render"], asset.pk)
        deadline = time.monotonic() + 30
        while outcome == "not_ready" and time.monotonic() < deadline:
            time.sleep(0.2)
            outcome = runner.run(STAGES["render"], asset.pk)

        assert outcome == "dead_lettered"
        asset.refresh_from_db()
        letter = DeadLetter.objects.get(asset=asset)
        assert asset.state == Asset.State.FAILED and asset.failed_stage == "render"
        assert letter.error_class == "permanent" and letter.stage == "render"
        assert "failed: ffmpeg exited" in letter.error_message and "/nonexistent/input.mp4" in letter.error_message
        assert SandboxRender.objects.count() == 1
