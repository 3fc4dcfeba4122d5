"""Renditions per platform: reuse a master that meets the limits, re-encode one that does not (cached by
content hash), refuse what no encode can fix with a message naming the limit. Real ffmpeg, tiny media."""

import subprocess
from types import SimpleNamespace

import imageio_ffmpeg
import pytest

from phantoms.resilience.errors import PermanentError
from pipeline.media.ffmpeg import probe
from publishing import renditions
from publishing.platforms.base import RenditionSpec
from publishing.renditions import media_info, rendition_for

SMALL = RenditionSpec(max_duration=10.0, max_bytes=5 * 1024 * 1024, max_width=180, max_height=320, max_fps=15.0)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")

    def make(name: str, size: str = "360x640", rate: int = 30, seconds: float = 1.0):
        path = tmp_path / name
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                        "-i", f"testsrc2=s={size}:r={rate}:d={seconds}", "-c:v", "libx264", "-preset", "ultrafast",
                        "-pix_fmt", "yuv420p", str(path)], check=True)
        return path

    return make


def test_a_master_within_the_limits_is_sent_as_it_is(media):
    master = media("fits.mp4", size="180x320", rate=15)
    assert rendition_for(master, SMALL, "youtube") == master


def test_a_master_beyond_the_limits_is_reencoded_once_and_cached(media):
    master = media("big.mp4", size="360x640", rate=30)
    first = rendition_for(master, SMALL, "youtube")
    assert first != master and first.parent.name == "renditions"
    meta = media_info(first)
    assert meta["size"] == (180, 320) and meta["fps"] <= 15 and meta["codec"] == "h264"
    stamp = first.stat().st_mtime_ns
    copy = master.with_name("same-bytes.mp4")
    copy.write_bytes(master.read_bytes())
    assert rendition_for(copy, SMALL, "tiktok") == first  # same content, same spec: the cached file
    assert first.stat().st_mtime_ns == stamp


def test_a_master_too_long_fails_naming_the_limit(media):
    master = media("long.mp4", size="180x320", rate=15, seconds=12)
    with pytest.raises(PermanentError, match=r"the video is 12.0 s; x takes at most 10 s \(max_duration\)"):
        rendition_for(master, SMALL, "x")


def test_a_file_that_is_not_a_video_is_refused(media, tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    with pytest.raises(PermanentError, match="is not a readable video"):
        rendition_for(junk, SMALL, "youtube")


def recorded(path, **changes):
    """What the render stage records of its output (pipeline.stages.RenderStage.work), in publishing's shape."""
    asset = SimpleNamespace(video_sha256="f" * 64, video=SimpleNamespace(name=f"assets/1/{path.name}"),
                            video_info={**probe(path).to_dict(), "sha256": "f" * 64, "name": f"assets/1/{path.name}",
                                        "bytes": path.stat().st_size, **changes})
    return renditions.recorded_meta(asset)


def test_the_render_s_record_of_the_master_spares_a_probe_and_says_the_same(media, monkeypatch):
    fits, big = media("fits.mp4", size="180x320", rate=15), media("big.mp4", size="360x640", rate=30)
    for master in (fits, big):
        meta, probed = recorded(master), media_info(master)
        assert {key: meta[key] for key in ("codec", "audio_codec", "pix_fmt", "size", "fps", "duration")} == {
            key: probed.get(key) for key in ("codec", "audio_codec", "pix_fmt", "size", "fps", "duration")}
    monkeypatch.setattr(renditions, "media_info", lambda path: pytest.fail("probed although the render recorded it"))
    assert rendition_for(fits, SMALL, "youtube", meta=recorded(fits)) == fits
    assert rendition_for(big, SMALL, "youtube", meta=recorded(big)).parent.name == "renditions"


def test_a_record_of_another_file_is_not_trusted(media, monkeypatch):
    master = media("fits.mp4", size="180x320", rate=15)
    assert recorded(master, sha256="0" * 64) is None  # another take
    assert recorded(master, name="assets/1/other.mp4") is None
    assert recorded(master, pix_fmt=None) is None  # recorded before the pixel format was
    probes = []
    monkeypatch.setattr(renditions, "media_info", lambda path: probes.append(path) or {"codec": "hevc"})
    with pytest.raises(PermanentError):  # the file's size differs from the record: probed, and refused
        rendition_for(master, SMALL, "youtube", meta=recorded(master, bytes=1))
    assert probes == [master]
