"""Fixtures the Instagram and X tests share: a tiny real MP4, the live sandbox, a signed link to the file.

Imported by name into the test modules (pytest finds fixtures in a module's namespace).
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.media.ffmpeg import ffmpeg_exe


@pytest.fixture(scope="session")
def tiny_mp4(tmp_path_factory) -> bytes:
    """One second of 64×112 H.264 at 10 fps (a few kilobytes): a real MP4 the platforms accept."""
    path = tmp_path_factory.mktemp("media") / "tiny.mp4"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=s=64x112:r=10:d=1", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    "-movflags", "+faststart", str(path)], check=True, timeout=60)
    return path.read_bytes()


@pytest.fixture
def platform_sandbox(sandbox, settings, tmp_path):
    """The live sandbox (tests/conftest.py) with its own media folder and fault keys for this test."""
    from sandbox import faults

    settings.MEDIA_ROOT = str(tmp_path / "media")
    Path(settings.MEDIA_ROOT).mkdir(parents=True, exist_ok=True)
    settings.SANDBOX_KEY_PREFIX = f"phantoms:sandbox-test:{os.getpid()}:{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    faults.clear_faults()
    faults.reset_call_counts()
    yield sandbox
    faults.clear_faults()


@pytest.fixture
def media_file(platform_sandbox, settings, tiny_mp4) -> Path:
    """The tiny MP4 under MEDIA_ROOT, where Phantoms keeps rendered videos and signs links to them."""
    path = Path(settings.MEDIA_ROOT) / "renders" / "video.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tiny_mp4)
    return path


def copy_media(source: Path, name: str) -> Path:
    target = source.parent / name
    shutil.copyfile(source, target)
    return target


@pytest.fixture
def live_transport(monkeypatch, platform_sandbox):
    """Every adapter call goes through one FaultyTransport over loopback HTTP to the live sandbox."""
    import httpx

    from publishing.platforms.base import Adapter
    from tests.platforms.harness import FaultyTransport

    faulty = FaultyTransport(httpx.HTTPTransport())
    client = httpx.Client(transport=faulty, timeout=httpx.Timeout(1.0, connect=1.0))
    monkeypatch.setattr(Adapter, "http_client", lambda self: client)
    yield faulty
    client.close()


@pytest.fixture
def local(monkeypatch, settings, tmp_path, tiny_mp4):
    """The sandbox's WSGI app called in-process: no sockets, no server thread, the test's own transaction.

    For the many-runs tests, which a live server and a transactional test case would make slow. Yields
    the FaultyTransport; `local.video` is the tiny MP4 under MEDIA_ROOT.
    """
    import httpx
    from django.core import signals
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    from phantoms.signed_media import resolve
    from publishing.platforms.base import Adapter
    from sandbox import faults
    from sandbox.views.platforms import instagram as ig_sandbox
    from tests.helpers import fast_pipeline_settings
    from tests.platforms.harness import FaultyTransport

    fast_pipeline_settings(settings, "http://testserver")
    settings.PHANTOMS_SANDBOX = True
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SANDBOX_PROCESSING_SECONDS = 0
    settings.SANDBOX_KEY_PREFIX = f"phantoms:sandbox-test:{os.getpid()}:local"
    faults.clear_faults()
    # As Django's test client does: a request must not close the test's connection (and its transaction).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    faulty = FaultyTransport(httpx.WSGITransport(app=get_wsgi_application()))
    client = httpx.Client(transport=faulty, base_url="http://testserver")
    monkeypatch.setattr(Adapter, "http_client", lambda self: client)

    def fetch(url):  # Instagram's download of the signed link, through the resolver the view uses
        token, filename = url.split("/signed-media/")[1].split("/")
        return resolve(token, filename).read_bytes(), ""

    monkeypatch.setattr(ig_sandbox, "_fetch_video", fetch)
    video = Path(settings.MEDIA_ROOT) / "renders" / "video.mp4"
    video.parent.mkdir(parents=True, exist_ok=True)
    video.write_bytes(tiny_mp4)
    faulty.video = video
    yield faulty
    client.close()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
