"""The remote renderer: one step per stage run (submit, poll, download), state kept in PostgreSQL.

The first half replays recorded Shotstack-shaped answers with respx; the second drives the real
sandbox service over HTTP, which renders the timeline it receives.
"""

import hashlib
import json
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.db import connections
from django.utils import timezone

from phantoms.engine import runner
from phantoms.engine.handler import Context
from phantoms.engine.models import DeadLetter
from phantoms.resilience.errors import ConfigurationError, NotReady, PermanentError, TransientError, UnknownOutcome
from pipeline.media.ffmpeg import ffmpeg_exe, probe
from pipeline.media.render import RenderSpec
from pipeline.models import Asset
from pipeline.providers.render.remote import USED_PREFIX, RemoteRenderer, callback_digest
from pipeline.stages import STAGES
from sandbox import faults, timeline
from sandbox.models import SandboxRender
from tests.media.helpers import count_differing, frame_rgb
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

        # First look just before the ETA: 3 s of video at the default 1 s per second, less 4%.
        assert caught.value.retry_after == pytest.approx(3.0 * 0.96, abs=0.01)
        asset.refresh_from_db()
        assert asset.render_remote_id == RENDER_ID
        state = remote_state(asset)
        assert state["id"] == RENDER_ID and state["polls"] == 0 and state["fingerprint"]
        request = route.calls.last.request
        assert request.headers["x-api-key"] == "render-key" and "authorization" not in request.headers

    def test_the_payload_is_an_edit_the_services_schema_accepts(self, render_api, settings, client):
        route = submit_route(render_api)
        asset = rendering_asset(settings.MEDIA_ROOT, with_visuals=True)
        with pytest.raises(NotReady):
            step(asset, leased(asset))

        payload = json.loads(route.calls.last.request.content)
        assert set(payload) == {"timeline", "output", "callback"}  # no "duration": the service works it out
        edit = timeline.validate(payload)
        assert edit.duration == pytest.approx(asset.audio_duration, abs=0.01)
        assert payload["output"] == {"format": "mp4", "fps": 30, "size": {"width": 1080, "height": 1920},
                                     "poster": {"capture": 0.75}}
        tracks = payload["timeline"]["tracks"]
        clips = [clip for track in tracks for clip in track["clips"]]
        texts = [clip["asset"]["text"] for clip in clips if clip["asset"]["type"] == "text"]
        assert asset.title in texts and len(texts) > 2
        visual_clips = [clip for clip in clips if clip["asset"]["type"] == "video"]
        assert len(visual_clips) == len(asset.visuals) == len(asset.script["beats"])
        assert [c["start"] for c in visual_clips] == [0.0] + [round(v["start"], 3) for v in asset.visuals[1:]]
        assert all(c["fit"] == "cover" and c["asset"]["volume"] == 0 for c in visual_clips)
        assert all("transition" in c for c in visual_clips[1:])
        voice = tracks[-1]["clips"][0]["asset"]
        assert voice["type"] == "audio" and voice["src"].startswith(f"{PUBLIC_URL}/signed-media/")
        # Every link is served by Phantoms, to whoever holds it, and is exactly the file.
        for src, name in [(voice["src"], asset.audio.name)] + [
                (c["asset"]["src"], v["path"]) for c, v in zip(visual_clips, asset.visuals, strict=True)]:
            served = client.get(src.removeprefix(PUBLIC_URL))
            assert served.status_code == 200
            assert b"".join(served.streaming_content) == (Path(settings.MEDIA_ROOT) / name).read_bytes()

    def test_the_callback_url_carries_a_token_of_its_own_stored_only_as_a_digest(self, render_api, settings):
        route = submit_route(render_api)
        asset = rendering_asset(settings.MEDIA_ROOT)
        with pytest.raises(NotReady):
            step(asset, leased(asset))

        callback = json.loads(route.calls.last.request.content)["callback"]
        prefix = f"{PUBLIC_URL}/webhooks/render/"
        assert callback.startswith(prefix) and callback.endswith("/")
        token = callback.removeprefix(prefix).strip("/")
        assert len(token) >= 40
        asset.refresh_from_db()
        assert asset.render_callback_digest == callback_digest(token) and token not in json.dumps(asset.render_spec)

    def test_a_loopback_public_url_is_refused_outside_the_sandbox(self, render_api, settings):
        route = submit_route(render_api)
        settings.PHANTOMS_PUBLIC_URL = "http://127.0.0.1:8000"
        asset = rendering_asset(settings.MEDIA_ROOT)

        with pytest.raises(ConfigurationError, match="PHANTOMS_PUBLIC_URL: http://127.0.0.1:8000 is a loopback"):
            step(asset, leased(asset))
        assert route.call_count == 0

    def test_a_submission_without_the_lease_records_nothing(self, render_api, settings):
        submit_route(render_api)
        asset = rendering_asset(settings.MEDIA_ROOT)
        leased(asset)

        with pytest.raises(TransientError, match="lost the lease"):
            step(asset, Context(token="someone-else", job_id=""))
        asset.refresh_from_db()
        assert asset.render_remote_id == ""

    def test_polls_follow_the_renders_eta_and_age_and_never_resubmit(self, render_api, settings):
        submit = submit_route(render_api)
        status_route(render_api, "render_preprocessing.json", "render_rendering.json", "render_rendering.json")
        asset = rendering_asset(settings.MEDIA_ROOT)
        ctx = leased(asset)
        with pytest.raises(NotReady):
            step(asset, ctx)

        waits = []
        for age in (2.9, 3.5, 40.0):
            state = remote_state(asset)
            state["submitted_at"] = (timezone.now() - timedelta(seconds=age)).isoformat()
            Asset.objects.filter(pk=asset.pk).update(render_spec={**asset.render_spec, "remote": state})
            with pytest.raises(NotReady) as caught:
                step(asset, ctx)
            waits.append(caught.value.retry_after)

        # Past the ETA (2.88 s): the shortest interval while 8% of the age is less, then 8% of the
        # age, capped at RENDER_POLL_MAX_INTERVAL: a finish is seen at most 8% of its time late.
        assert waits == pytest.approx([1.0, 1.0, 3.2], abs=0.02)
        assert asset.attempts == 0  # "preprocessing" is a status in flight, not an unknown one
        assert submit.call_count == 1
        assert remote_state(asset)["polls"] == 3 and remote_state(asset)["status"] == "rendering"

    def test_the_service_speed_is_learned_from_finished_renders(self, settings):
        from pipeline.providers.render.remote import first_poll_delay, learn_speed

        assert first_poll_delay(20.0) == pytest.approx(20.0 * 0.96, abs=0.01)
        learn_speed({"created": "2026-01-01T10:00:00Z", "updated": "2026-01-01T10:00:05Z", "duration": 20.0})
        assert first_poll_delay(20.0) == pytest.approx(5.0 * 0.96, abs=0.01)  # this service takes 0.25 s per s
        learn_speed({"created": "2026-01-01T10:00:00Z", "updated": "2026-01-01T10:00:15Z", "duration": 20.0})
        assert first_poll_delay(20.0) == pytest.approx(20 * (0.7 * 0.25 + 0.3 * 0.75) * 0.96, abs=0.01)

    def test_done_streams_checksums_and_probes_the_output(self, render_api, settings, tiny_mp4):
        submit_route(render_api)
        status_route(render_api, "render_done.json")
        download = render_api.get(OUTPUT_URL).mock(return_value=httpx.Response(200, content=tiny_mp4))
        render_api.get(OUTPUT_URL.replace(".mp4", "-poster.jpg")).mock(
            return_value=httpx.Response(200, content=b"\xff\xd8poster"))
        asset = rendering_asset(settings.MEDIA_ROOT)
        ctx = leased(asset)
        with pytest.raises(NotReady):
            step(asset, ctx)
        out = Path(settings.MEDIA_ROOT) / "out.mp4"
        renderer = RemoteRenderer()
        asset.refresh_from_db()

        info = renderer.render(asset, spec_for(asset), out, None, ctx=ctx)

        assert renderer.poster_path.read_bytes() == b"\xff\xd8poster"  # the service's poster becomes the cover

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


    def test_intent_is_committed_before_the_post(self, render_api, settings):
        seen = {}

        def answer(request):
            # What the database holds while the service is being asked.
            row = Asset.objects.values("render_spec", "render_callback_digest", "render_remote_id").get(pk=asset.pk)
            seen.update(remote=row["render_spec"]["remote"], digest=row["render_callback_digest"],
                        remote_id=row["render_remote_id"])
            return httpx.Response(201, json=recorded("render_queued.json"))

        render_api.post(f"{RENDER_URL}/render").mock(side_effect=answer)
        asset = rendering_asset(settings.MEDIA_ROOT)
        with pytest.raises(NotReady):
            step(asset, leased(asset))

        assert seen["remote"]["status"] == "submitting" and seen["remote_id"] == ""
        assert seen["digest"] and seen["remote"]["fingerprint"] and "id" not in seen["remote"]
        state = remote_state(asset)
        assert state["id"] == RENDER_ID and state["status"] == "submitted" and state["recorded_via"] == "submit"

    def test_a_submission_timing_out_after_sending_is_an_unknown_outcome(self, render_api, settings):
        render_api.post(f"{RENDER_URL}/render").mock(side_effect=httpx.ReadTimeout("no answer"))
        asset = rendering_asset(settings.MEDIA_ROOT)

        with pytest.raises(UnknownOutcome):
            step(asset, leased(asset))
        assert remote_state(asset)["status"] == "submitting"

    def test_an_unanswered_submission_waits_out_the_grace_then_submits_again(self, render_api, settings):
        settings.RENDER_SUBMIT_GRACE = 60
        submit = render_api.post(f"{RENDER_URL}/render").mock(
            side_effect=[httpx.ReadTimeout("no answer"), httpx.Response(201, json=recorded("render_queued.json"))])
        asset = rendering_asset(settings.MEDIA_ROOT)
        ctx = leased(asset)
        with pytest.raises(UnknownOutcome):
            step(asset, ctx)

        with pytest.raises(NotReady, match="waiting up to") as caught:
            step(asset, ctx)
        assert submit.call_count == 1 and 0 < caught.value.retry_after <= 60

        state = remote_state(asset)
        state["submitting_at"] = (timezone.now() - timedelta(seconds=61)).isoformat()
        Asset.objects.filter(pk=asset.pk).update(render_spec={**asset.render_spec, "remote": state})
        with pytest.raises(NotReady, match="submitted"):
            step(asset, ctx)
        assert submit.call_count == 2
        state = remote_state(asset)
        assert state["id"] == RENDER_ID and state["replaced"]["status"] == "unanswered"

    def test_the_id_is_recorded_by_the_submissions_digest_even_after_the_lease_is_lost(self, render_api, settings):
        asset = rendering_asset(settings.MEDIA_ROOT)
        ctx = leased(asset)

        def answer(request):
            # Another worker takes the asset over while the POST is on the wire.
            Asset.objects.filter(pk=asset.pk).update(lease_owner="another-worker")
            return httpx.Response(201, json=recorded("render_queued.json"))

        render_api.post(f"{RENDER_URL}/render").mock(side_effect=answer)
        with pytest.raises(NotReady, match="submitted"):
            step(asset, ctx)
        asset.refresh_from_db()
        assert asset.render_remote_id == RENDER_ID and asset.lease_owner == "another-worker"

    def test_a_late_answer_never_overwrites_a_newer_submission(self, render_api, settings):
        asset = rendering_asset(settings.MEDIA_ROOT)
        ctx = leased(asset)

        def answer(request):
            # Meanwhile the asset moved on to a submission of its own (a new token).
            Asset.objects.filter(pk=asset.pk).update(render_callback_digest=callback_digest("newer"))
            return httpx.Response(201, json=recorded("render_queued.json"))

        render_api.post(f"{RENDER_URL}/render").mock(side_effect=answer)
        with pytest.raises(TransientError, match="moved on to another submission"):
            step(asset, ctx)
        asset.refresh_from_db()
        assert asset.render_remote_id == ""


def run_in_thread(results: list, asset_pk: int) -> threading.Thread:
    def target():
        try:
            results.append(runner.run(STAGES["render"], asset_pk))
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    return thread


def wait_for(condition, timeout: float = 10.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(interval)


def run_until_done(asset, timeout: float = 30.0) -> list[str]:
    outcomes = []
    deadline = time.monotonic() + timeout
    while not outcomes or outcomes[-1] != "succeeded":
        assert time.monotonic() < deadline, outcomes
        Asset.objects.filter(pk=asset.pk).update(next_run_at=None)
        outcomes.append(runner.run(STAGES["render"], asset.pk))
        time.sleep(0.05)
    return outcomes


@pytest.mark.django_db(transaction=True)
class TestSubmittedOnce:
    """Issue 15, item 5: a render submitted twice after a lost lease costs a render at a paid service."""

    @pytest.fixture(autouse=True)
    def _fast(self, sandbox, settings):
        settings.RENDER_POLL_INTERVAL = 0.05
        settings.RENDER_POLL_MAX_INTERVAL = 0.2
        settings.RENDER_SUBMIT_GRACE = 60
        settings.SANDBOX_RENDER_SECONDS = 0.3

    def take_over(self, asset):
        """The first run's lease lapses (its worker stalled): the asset is anybody's again."""
        Asset.objects.filter(pk=asset.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    def test_a_lease_lost_during_the_submission_renders_once(self, settings):
        settings.HTTP_TIMEOUTS = {"connect": 1.0, "read": 5.0}
        asset = rendering_asset(settings.MEDIA_ROOT)
        faults.set_faults("render", latency_ms=1500)
        first: list[str] = []
        thread = run_in_thread(first, asset.pk)
        wait_for(lambda: faults.call_count("render") == 1)
        faults.clear_faults("render")  # only the submission is slow
        self.take_over(asset)

        second = runner.run(STAGES["render"], asset.pk)  # while the first run's POST is on the wire
        thread.join(10)
        outcomes = run_until_done(asset)

        assert second == "not_ready" and first == ["not_ready"]
        assert outcomes[-1] == "succeeded"
        assert SandboxRender.objects.count() == 1
        asset.refresh_from_db()
        assert asset.render_remote_id == SandboxRender.objects.get().render_id
        assert asset.state == Asset.State.AWAITING_REVIEW
        assert asset.render_spec["remote"]["recorded_via"] == "submit"

    def test_an_answer_lost_after_acceptance_is_adopted_from_the_callback(self, settings):
        settings.SANDBOX_RENDER_SECONDS = 1.0  # still rendering when the second run looks
        asset = rendering_asset(settings.MEDIA_ROOT)
        faults.set_faults("render", accept_then_timeout_rate=1.0)
        first: list[str] = []
        thread = run_in_thread(first, asset.pk)
        wait_for(lambda: SandboxRender.objects.exists())
        faults.clear_faults("render")
        self.take_over(asset)

        second = runner.run(STAGES["render"], asset.pk)
        thread.join(10)
        wait_for(lambda: SandboxRender.objects.get().callback_status == "200")
        outcomes = run_until_done(asset)

        assert first == ["retrying"]  # the timeout after sending: an unknown outcome, charged as an attempt
        assert second == "not_ready"  # "submitting" without an id: wait for the callback, never resubmit
        assert outcomes[-1] == "succeeded"
        assert SandboxRender.objects.count() == 1
        asset.refresh_from_db()
        assert asset.render_remote_id == SandboxRender.objects.get().render_id
        assert asset.render_spec["remote"]["recorded_via"] == "callback"
        assert asset.state == Asset.State.AWAITING_REVIEW


@pytest.mark.django_db(transaction=True)
class TestSandbox:
    def test_the_runner_never_resubmits_while_a_remote_id_exists(self, sandbox, settings):
        settings.RENDER_POLL_INTERVAL = 0.05
        settings.RENDER_POLL_MAX_INTERVAL = 0.2
        asset = rendering_asset(settings.MEDIA_ROOT, with_visuals=True)

        outcomes = [runner.run(STAGES["render"], asset.pk)]
        asset.refresh_from_db()
        first_id = asset.render_remote_id
        deadline = time.monotonic() + 60
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
        # The service rendered what it was sent: each beat's own visual in its span, and the poster as cover.
        middle = (1080, 400, 0, 760)
        frames = [frame_rgb(video, (v["start"] + v["end"]) / 2, crop=middle) for v in asset.visuals]
        assert len(frames) >= 2
        # Neighbouring beats' clips differ in style and palette; which palettes depends on the asset's id,
        # and the closest pair seen still differed in 28% of the pixels.
        for a, b in zip(frames, frames[1:], strict=False):
            assert count_differing(a, b) > 0.2 * 1080 * 400
        assert asset.cover and asset.cover_timestamp == 0.75 and Path(asset.cover.path).stat().st_size > 0
        # The service's callback reached our webhook with the render's token, and spent it.
        deadline = time.monotonic() + 10
        while SandboxRender.objects.get().callback_status != "200":
            assert time.monotonic() < deadline, SandboxRender.objects.get().callback_status
            time.sleep(0.05)
        asset.refresh_from_db()
        assert asset.render_callback_digest.startswith(USED_PREFIX)

    def test_a_failed_remote_render_is_dead_lettered_with_the_services_message(self, sandbox, settings):
        # Links that expire at once: the service cannot fetch the voice, so the render fails there.
        settings.SIGNED_MEDIA_MAX_AGE = -1
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
        assert "failed: voice.wav could not be downloaded (410)" in letter.error_message
        assert SandboxRender.objects.count() == 1
