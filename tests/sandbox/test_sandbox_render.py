import hashlib
import hmac
import json
import re
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import imageio_ffmpeg
import pytest

from sandbox import faults
from sandbox.models import SandboxRender

TIMELINE = {"background": "#1a2b3c", "tracks": []}


def wait_for_render(http, render_id, *, until=("done", "failed"), limit=60.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        response = http.get(f"/render/v1/render/{render_id}").json()["response"]
        if response["status"] in until:
            return response
        time.sleep(0.2)
    raise AssertionError(f"render {render_id} did not finish in {limit} s")


def probe(path: Path) -> str:
    # ffmpeg with no output file exits non-zero but prints the stream description we need.
    result = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                            capture_output=True, text=True)
    return result.stderr


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
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/render", received
    server.shutdown()
    server.server_close()


def test_render_produces_a_real_vertical_mp4(http, tmp_path, settings):
    created = http.post("/render/v1/render", json={"timeline": TIMELINE, "output": {"format": "mp4"},
                                                   "duration": 1.5})
    assert created.status_code == 201
    body = created.json()
    assert body["success"] is True
    assert body["response"]["message"] == "Render Successfully Queued"
    render_id = body["response"]["id"]

    done = wait_for_render(http, render_id)
    assert done["status"] == "done", done.get("error")
    assert done["url"].endswith(f"/render/v1/render/{render_id}/output")

    video = httpx.get(done["url"], timeout=10)
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"
    path = tmp_path / "out.mp4"
    path.write_bytes(video.content)
    info = probe(path)
    assert "1080x1920" in info
    assert "30 fps" in info
    assert "h264" in info and "aac" in info
    seconds = re.search(r"Duration: 00:00:(\d+\.\d+)", info)
    assert seconds and float(seconds.group(1)) == pytest.approx(1.5, abs=0.1)
    assert (Path(settings.MEDIA_ROOT) / "sandbox_renders" / f"{render_id}.mp4").exists()


def test_done_render_calls_back_with_a_signature(http, callback_receiver, settings):
    url, received = callback_receiver
    render_id = http.post("/render/v1/render", json={"timeline": TIMELINE, "duration": 0.5,
                                                     "callback": url}).json()["response"]["id"]
    assert wait_for_render(http, render_id)["status"] == "done"
    deadline = time.monotonic() + 10
    while not received and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(received) == 1
    headers, raw = received[0]
    payload = json.loads(raw)
    assert payload["type"] == "edit" and payload["action"] == "render"
    assert payload["id"] == render_id and payload["status"] == "done"
    assert payload["url"].endswith("/output")
    timestamp = headers["X-Phantoms-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    expected = hmac.new(settings.RENDER_WEBHOOK_SECRET.encode(), timestamp.encode() + b"." + raw,
                        hashlib.sha256).hexdigest()
    assert headers["X-Phantoms-Signature"] == f"sha256={expected}"
    deadline = time.monotonic() + 5
    while SandboxRender.objects.get(render_id=render_id).callback_status != "204":
        assert time.monotonic() < deadline, "callback outcome never recorded"
        time.sleep(0.1)


def test_unreachable_callback_does_not_fail_the_render(http):
    render_id = http.post("/render/v1/render", json={"timeline": TIMELINE, "duration": 0.5,
                                                     "callback": "http://127.0.0.1:9/nowhere"}).json()
    render_id = render_id["response"]["id"]
    assert wait_for_render(http, render_id)["status"] == "done"
    deadline = time.monotonic() + 10
    while not SandboxRender.objects.get(render_id=render_id).callback_status:
        assert time.monotonic() < deadline, "callback outcome never recorded"
        time.sleep(0.1)
    render = SandboxRender.objects.get(render_id=render_id)
    assert render.callback_status.startswith("error")
    assert render.status == "done"


@pytest.mark.parametrize(("payload", "problem"), [
    ({"output": {"format": "mp4"}}, "timeline"),
    ({"timeline": TIMELINE, "output": {"format": "gif"}}, "format"),
    ({"timeline": TIMELINE, "duration": 0}, "duration"),
    ({"timeline": TIMELINE, "duration": "long"}, "duration"),
    ({"timeline": TIMELINE, "callback": "ftp://example.com"}, "callback"),
])
def test_bad_render_requests_are_400(http, payload, problem):
    response = http.post("/render/v1/render", json=payload)
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert problem in response.json()["message"]
    assert SandboxRender.objects.count() == 0


def test_unknown_render_is_404(http, sandbox_url):
    assert http.get("/render/v1/render/00000000-0000-0000-0000-000000000000").status_code == 404
    assert httpx.get(f"{sandbox_url}/render/v1/render/nope/output").status_code == 404


def test_render_requires_a_bearer_token(sandbox_url):
    response = httpx.post(f"{sandbox_url}/render/v1/render", json={"timeline": TIMELINE})
    assert response.status_code == 401
    assert SandboxRender.objects.count() == 0


def test_render_faults(http):
    faults.set_faults("render", error_rate=1.0)
    response = http.post("/render/v1/render", json={"timeline": TIMELINE, "duration": 0.5})
    assert response.status_code == 500
    assert response.json()["success"] is False
    assert SandboxRender.objects.count() == 0

    faults.set_faults("render", error_rate=0.0, rate_limit_rate=1.0)
    response = http.post("/render/v1/render", json={"timeline": TIMELINE, "duration": 0.5})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert faults.call_count("render") == 2
