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
