"""The sandbox render service: Shotstack's Edit schema and statuses, and a render of the timeline it was given."""

import functools
import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from pipeline.media.ffmpeg import ffmpeg_exe, probe
from sandbox import faults, timeline
from sandbox.models import SandboxRender
from tests.media.helpers import count_matching, frame_rgb, image_rgb, max_volume_db

W, H = 180, 320


@pytest.fixture
def render_api(sandbox_url):
    with httpx.Client(base_url=f"{sandbox_url}/render/v1", headers={"x-api-key": "test-key"},
                      timeout=httpx.Timeout(10.0)) as client:
        yield client


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """Source files served over HTTP, as the service would fetch them."""
    folder = tmp_path_factory.mktemp("sources")
    for name, colour in (("red.mp4", "red"), ("blue.mp4", "blue")):
        subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                        f"color=c={colour}:s=90x160:r=30:d=1.5", "-c:v", "libx264", "-preset", "ultrafast",
                        "-pix_fmt", "yuv420p", str(folder / name)], check=True, timeout=60)
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=440:d=2",
                    str(folder / "voice.wav")], check=True, timeout=60)
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def edit(media, **extra) -> dict:
    body = {
        "timeline": {
            "background": "#000000",
            "tracks": [
                {"clips": [{"asset": {"type": "text", "text": "HELLO", "font": {"size": 40, "color": "#ffffff"}},
                            "start": 0, "length": 2, "position": "top"}]},
                {"clips": [{"asset": {"type": "video", "src": f"{media}/red.mp4", "volume": 0}, "start": 0,
                            "length": 1, "fit": "cover"},
                           {"asset": {"type": "video", "src": f"{media}/blue.mp4", "volume": 0}, "start": 1,
                            "length": 1, "fit": "cover", "transition": {"in": "fade"}}]},
                {"clips": [{"asset": {"type": "audio", "src": f"{media}/voice.wav", "volume": 1}, "start": 0,
                            "length": 2}]},
            ],
        },
        "output": {"format": "mp4", "fps": 30, "size": {"width": W, "height": H}, "poster": {"capture": 1.5}},
    }
    body.update(extra)
    return body


def wait_for(render_api, render_id, *, until=("done", "failed"), limit=60.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        response = render_api.get(f"/render/{render_id}").json()["response"]
        if response["status"] in until:
            return response
        time.sleep(0.1)
    raise AssertionError(f"render {render_id} did not reach {until} in {limit} s")


def submit(render_api, body) -> str:
    created = render_api.post("/render", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["response"]["message"] == "Render Successfully Queued"
    return created.json()["response"]["id"]


def is_red(r, g, b):
    return r > 180 and g < 80 and b < 80


def is_blue(r, g, b):
    return b > 180 and r < 80 and g < 80


def test_the_timeline_it_renders_is_the_one_it_was_given(render_api, media, tmp_path):
    render_id = submit(render_api, edit(media))
    done = wait_for(render_api, render_id)
    assert done["status"] == "done", done["error"]
    assert done["duration"] == 2.0 and done["renderTime"] > 0 and done["owner"]

    video = tmp_path / "out.mp4"
    video.write_bytes(httpx.get(done["url"], timeout=10).content)
    info = probe(video)
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (W, H, "h264", "aac")
    assert info.duration == pytest.approx(2.0, abs=0.1)
    middle = (W, 100, 0, 160)
    assert count_matching(frame_rgb(video, 0.5, crop=middle), is_red) > 0.9 * W * 100
    assert count_matching(frame_rgb(video, 1.7, crop=middle), is_blue) > 0.9 * W * 100
    # The text clip sits at the top over the visuals.
    top = frame_rgb(video, 0.5, crop=(W, 60, 0, 0))
    assert count_matching(top, lambda r, g, b: min(r, g, b) > 200) > 50
    assert max_volume_db(video) > -30  # the voice clip (a -18 dB tone) is there
    poster = tmp_path / "poster.jpg"
    poster.write_bytes(httpx.get(done["poster"], timeout=10).content)
    assert count_matching(image_rgb(poster, crop=middle), is_blue) > 0.9 * W * 100


def test_it_passes_through_the_documented_statuses(render_api, media, monkeypatch):
    preprocessing, release = threading.Event(), threading.Event()
    real_check = timeline.check_sources

    def held(edit, ffmpeg):
        preprocessing.set()
        assert release.wait(20)
        real_check(edit, ffmpeg)

    monkeypatch.setattr(timeline, "check_sources", held)
    render_id = submit(render_api, edit(media))
    assert preprocessing.wait(20)
    assert render_api.get(f"/render/{render_id}").json()["response"]["status"] == "preprocessing"
    release.set()
    assert wait_for(render_api, render_id)["status"] == "done"


def test_a_source_it_cannot_fetch_fails_the_render_with_the_reason(render_api, media):
    body = edit(media)
    body["timeline"]["tracks"][1]["clips"][0]["asset"]["src"] = f"{media}/missing.mp4"
    done = wait_for(render_api, submit(render_api, body))
    assert done["status"] == "failed" and done["error"] == "missing.mp4 could not be downloaded (404)"
    assert done["url"] is None


@pytest.mark.parametrize(("change", "path", "message"), [
    (lambda b: b.update(duration=2.0), "duration", '"duration" is not allowed'),
    (lambda b: b.pop("timeline"), "timeline", '"timeline" is required'),
    (lambda b: b.pop("output"), "output", '"output" is required'),
    (lambda b: b["timeline"]["tracks"][1]["clips"][0]["asset"].update(src="red.mp4"),
     "timeline.tracks.1.clips.0.asset.src", "must be a valid uri"),
    (lambda b: b["timeline"]["tracks"][1]["clips"][0].update(length="auto"),
     "timeline.tracks.1.clips.0.length", "smart clip"),
    (lambda b: b["timeline"]["tracks"][1]["clips"][0].update(colour="red"),
     "timeline.tracks.1.clips.0.colour", "is not allowed"),
    (lambda b: b["output"].update(size={"width": 181, "height": 320}), "output.size.width", "even"),
    (lambda b: b["output"].update(fps=31), "output.fps", "must be one of"),
    (lambda b: b.update(callback="ftp://example.com"), "callback", "must be a valid uri"),
])
def test_an_edit_outside_the_schema_is_400_naming_the_property(render_api, media, change, path, message):
    body = edit(media)
    change(body)
    response = render_api.post("/render", json=body)
    assert response.status_code == 400
    detail = response.json()["response"]["error"]["details"][0]
    assert ".".join(detail["path"]) == path and message in detail["message"]
    assert response.json()["success"] is False and message in response.json()["message"]
    assert SandboxRender.objects.count() == 0


def test_the_validator_accepts_what_the_schema_allows(media):
    parsed = timeline.validate(edit(media, callback="https://example.com/hook", merge=[]))
    assert parsed.duration == 2.0 and (parsed.width, parsed.height) == (W, H) and parsed.poster == 1.5


@pytest.fixture
def callback_receiver():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            received.append((dict(self.headers), self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/render/some-token/", received
    server.shutdown()
    server.server_close()


def test_a_finished_render_calls_back_unsigned_in_shotstacks_shape(render_api, media, callback_receiver):
    url, received = callback_receiver
    render_id = submit(render_api, edit(media, callback=url))
    assert wait_for(render_api, render_id)["status"] == "done"
    deadline = time.monotonic() + 10
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    headers, raw = received[0]
    payload = json.loads(raw)
    assert set(payload) == {"type", "action", "id", "owner", "status", "url", "error", "completed"}
    assert (payload["type"], payload["action"], payload["id"], payload["status"]) == ("edit", "render", render_id,
                                                                                      "done")
    assert payload["error"] is None and payload["completed"].endswith("Z")
    assert not [name for name in headers if name.lower().startswith("x-phantoms")]
    deadline = time.monotonic() + 5
    while SandboxRender.objects.get(render_id=render_id).callback_status != "204":
        assert time.monotonic() < deadline, "callback outcome never recorded"
        time.sleep(0.05)


def test_unknown_renders_are_404_and_the_key_is_required(render_api, sandbox_url):
    assert render_api.get("/render/00000000-0000-0000-0000-000000000000").status_code == 404
    assert httpx.get(f"{sandbox_url}/render/v1/render/nope/output").status_code == 404
    bearer_only = httpx.post(f"{sandbox_url}/render/v1/render", json={}, headers={"Authorization": "Bearer k"})
    assert bearer_only.status_code == 401 and "x-api-key" in bearer_only.json()["message"]


def test_render_faults(render_api, media):
    faults.set_faults("render", error_rate=1.0)
    response = render_api.post("/render", json=edit(media))
    assert response.status_code == 500 and response.json()["success"] is False
    faults.set_faults("render", error_rate=0.0, rate_limit_rate=1.0)
    response = render_api.post("/render", json=edit(media))
    assert response.status_code == 429 and response.headers["retry-after"] == "2"
    assert SandboxRender.objects.count() == 0
    assert Path(faults.__file__).exists() and faults.call_count("render") == 2


def test_an_accepted_render_whose_answer_times_out_still_runs_and_calls_back(render_api, media, callback_receiver,
                                                                             settings):
    settings.SANDBOX_RENDER_SECONDS = 0.3
    url, received = callback_receiver
    faults.set_faults("render", accept_then_timeout_rate=1.0)
    response = render_api.post("/render", json=edit(media, callback=url))
    assert response.status_code == 504  # held past the client's patience, then a gateway timeout

    render = SandboxRender.objects.get()  # yet the service took the job
    deadline = time.monotonic() + 10
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    payload = json.loads(received[0][1])
    assert (payload["id"], payload["status"]) == (render.render_id, "done")
    assert faults.fault_counts("render") == {"accept_then_timeout": 1}


def test_an_invalid_edit_under_accept_then_timeout_creates_nothing(render_api, media):
    faults.set_faults("render", accept_then_timeout_rate=1.0)
    response = render_api.post("/render", json={"timeline": {}})
    assert response.status_code == 504 and SandboxRender.objects.count() == 0


def test_a_set_processing_time_is_simulated_through_the_documented_statuses(render_api, media, settings, tmp_path):
    settings.SANDBOX_RENDER_SECONDS = 1.0
    started = time.monotonic()
    render_id = submit(render_api, edit(media))
    seen = []
    while not seen or seen[-1] != "done":
        assert time.monotonic() - started < 10
        status = render_api.get(f"/render/{render_id}").json()["response"]["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        time.sleep(0.02)
    took = time.monotonic() - started

    assert seen[-1] == "done" and "rendering" in seen and seen.index("rendering") < len(seen) - 1
    assert set(seen) <= {"queued", "fetching", "preprocessing", "rendering", "saving", "done"}
    assert 1.0 <= took < 3.0  # the set time, not an encode of the timeline
    done = render_api.get(f"/render/{render_id}").json()["response"]
    video = tmp_path / "out.mp4"
    video.write_bytes(httpx.get(done["url"], timeout=10).content)
    info = probe(video)
    assert info.video_codec == "h264" and info.duration == pytest.approx(2.0, abs=0.15)  # the timeline's length
    assert httpx.get(done["poster"], timeout=10).content[:2] == b"\xff\xd8"
