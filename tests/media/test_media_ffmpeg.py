import subprocess
import threading

import pytest

from phantoms.resilience.errors import PermanentError, TransientError
from pipeline.media.ffmpeg import ffmpeg_exe, parse_probe_output, probe, run_ffmpeg

SAMPLE = "\n".join([
    "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'out.mp4':",
    "  Duration: 00:01:02.50, start: 0.000000, bitrate: 161 kb/s",
    "  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), "
    "1080x1920 [SAR 1:1 DAR 9:16], 151 kb/s, 29.97 fps, 29.97 tbr, 15360 tbn (default)",
    "  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, "
    "128 kb/s (default)",
    "  Stream #0:2[0x3](eng): Subtitle: mov_text (tx3g / 0x67337874), 0 kb/s",
])


def test_probe_output_is_parsed():
    info = parse_probe_output(SAMPLE)
    assert info.duration == pytest.approx(62.5)
    assert (info.width, info.height) == (1080, 1920)
    assert info.fps == pytest.approx(29.97)
    assert info.video_codec == "h264"
    assert info.audio_codec == "aac"
    assert info.audio_sample_rate == 48000
    assert info.audio_channels == "stereo"
    assert info.pix_fmt == "yuv420p(progressive)"
    assert info.has_subtitle_stream is True


def test_probe_output_without_streams():
    info = parse_probe_output("Input #0, wav, from 'x.wav':\n  Duration: N/A, bitrate: N/A\n")
    assert info.duration == 0.0
    assert info.video_codec is None and info.audio_codec is None
    assert info.has_subtitle_stream is False


def test_ffmpeg_binary_has_what_rendering_needs():
    version = subprocess.run([ffmpeg_exe(), "-hide_banner", "-version"], capture_output=True, text=True,
                             timeout=30).stdout
    assert "--enable-libx264" in version
    assert "--enable-libass" in version


def test_bad_input_is_a_permanent_error_carrying_ffmpegs_message(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"definitely not a video" * 50)
    with pytest.raises(PermanentError) as info:
        run_ffmpeg(["-y", "-i", str(bad), "-f", "null", "-"], timeout=30)
    message = str(info.value)
    assert "exited with status" in message
    assert "Invalid data found when processing input" in message
    assert "broken.mp4" in message


def test_probe_of_a_non_media_file_is_permanent(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(PermanentError, match="cannot read"):
        probe(bad)
    with pytest.raises(PermanentError, match="no such file"):
        probe(tmp_path / "missing.mp4")


def test_timeout_kills_and_is_transient():
    endless = ["-f", "lavfi", "-i", "color=s=64x64:r=25", "-f", "null", "-"]
    with pytest.raises(TransientError, match="timeout"):
        run_ffmpeg(endless, timeout=0.5)


def test_progress_fractions_increase_and_end_at_one(tmp_path):
    seen: list[float] = []
    out = tmp_path / "p.mp4"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "testsrc2=s=1080x1920:r=30", "-t", "4",
                "-c:v", "libx264", "-preset", "veryfast", str(out)],
               timeout=120, progress=seen.append, duration=4.0)
    assert len(seen) >= 3
    assert all(0.0 <= f <= 1.0 for f in seen)
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert seen[-1] == pytest.approx(1.0)
    assert probe(out).duration == pytest.approx(4.0, abs=0.05)


def test_ffmpeg_killed_by_a_signal_is_transient_not_the_inputs_fault(tmp_path):
    marker = f"phantoms-signal-test-{tmp_path.name}"
    killer = threading.Timer(0.5, lambda: subprocess.run(["pkill", "-KILL", "-f", marker], check=False))
    killer.start()
    try:
        with pytest.raises(TransientError, match="killed by signal 9"):
            # Endless input: only the signal can end it (well before the timeout).
            run_ffmpeg(["-f", "lavfi", "-i", "color=s=64x64:r=25", "-metadata", f"comment={marker}",
                        "-f", "null", "-"], timeout=30)
    finally:
        killer.cancel()
