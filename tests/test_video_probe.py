"""Probe the video the offline pipeline makes, from the voice onward, as a creator would look at it.

A script written for 15, 30 and 60 seconds goes through the real voice (the offline engine as it is
here), visuals (offline motion backgrounds) and render (ffmpeg) stages at full size. The finished
file is probed: its length, a distinct visual behind every beat, and the stored cover.
"""

import subprocess
from pathlib import Path

import pytest

from phantoms.engine import runner
from pipeline.media.ffmpeg import ffmpeg_exe, probe
from pipeline.models import Asset
from pipeline.script_format import Beat, Script
from pipeline.stages import STAGES
from tests.factories import make_asset
from tests.media.helpers import count_differing

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

TOPICS = ["morning light", "cold water", "a short walk", "stretching", "slow breakfast", "no phone",
          "a written plan", "one hard task", "fresh air", "a glass of water"]
# The middle of the frame (at the visuals' own 360x640), clear of the headline and the captions.
SMALL_MIDDLE = "360:166:0:233"


def small_frames(path: Path, times: list[float], fps: int = 30) -> list[bytes]:
    """Frames at `times` (seconds), like small_frame, from one decoding pass over the whole video."""
    numbers = [round(t * fps) for t in times]
    wanted = "+".join(f"eq(n\\,{n})" for n in sorted(set(numbers)))
    result = subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(path), "-vf",
                             f"select='{wanted}',scale=360:640,crop={SMALL_MIDDLE}", "-fps_mode", "passthrough",
                             "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True, timeout=120)
    size = 360 * 166 * 3
    by_number = dict(zip(sorted(set(numbers)), (result.stdout[i:i + size] for i in range(0, len(result.stdout), size)),
                         strict=True))
    return [by_number[n] for n in numbers]


def small_frame(path: Path, at: float) -> bytes:
    """The frame at `at`, at the offline visuals' own size (360x640), cropped to the middle band."""
    result = subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(path), "-ss", f"{at:.3f}",
                             "-frames:v", "1", "-vf", f"scale=360:640,crop={SMALL_MIDDLE}", "-f", "rawvideo",
                             "-pix_fmt", "rgb24", "-"], capture_output=True, check=True, timeout=60)
    return result.stdout


def script_for(seconds: int, words_per_second: float = 2.6) -> Script:
    """A script with as many words as the voice speaks in `seconds`, in beats of about seven seconds."""
    count = max(3, seconds // 7)
    words_per_beat = round(seconds * words_per_second / count)
    beats = []
    for index in range(count):
        topic = TOPICS[index % len(TOPICS)]
        filler = f"{topic} changes how the whole morning feels, so try it tomorrow and notice the difference".split()
        narration = " ".join((filler * 4)[:words_per_beat - (4 if index == 0 else 0)])
        beats.append(Beat(on_screen=f"{index + 1}. {topic.title()}", narration=narration.capitalize() + ".",
                          visual_query=topic))
    return Script(title="Better mornings", hook="Mornings, fixed, today.", beats=beats,
                  caption_lines=["Mornings, fixed, today."], description="d", hashtags=["#mornings"],
                  target_duration_seconds=seconds)


# A short and a long video (the lengths between behave alike).
@pytest.mark.parametrize("target", [15, 60])
def test_the_video_keeps_its_length_shows_a_visual_per_beat_and_has_a_cover(settings, tmp_path, target):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.RENDER_PRESET = "ultrafast"  # the encoder's speed is benchmarked elsewhere
    settings.AUTO_APPROVE = False
    written = script_for(target)
    asset = make_asset(Asset.State.VOICING, target_duration_seconds=target)
    Asset.objects.filter(pk=asset.pk).update(script=written.model_dump(), title=written.title)

    for stage in ("voice", "visuals", "render"):
        assert runner.run(STAGES[stage], asset.pk) == "succeeded", Asset.objects.get(pk=asset.pk).last_error

    asset.refresh_from_db()
    assert asset.state == Asset.State.AWAITING_REVIEW
    video = Path(asset.video.path)
    info = probe(video)
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (1080, 1920, "h264", "aac")
    assert abs(info.duration - target) <= 0.1 * target, f"{info.duration:.1f} s for a {target} s target"

    assert len(asset.visuals) == len(written.beats)
    middles = [(v["start"] + v["end"]) / 2 for v in asset.visuals]
    *frames, at_cover = small_frames(video, [*middles, asset.cover_timestamp])
    area = 360 * 166
    for a in range(len(frames)):
        for b in range(a + 1, len(frames)):
            assert count_differing(frames[a], frames[b], threshold=30) > 0.05 * area, f"beats {a} and {b}"
    # Each beat shows its own visual: its frame is closer to that beat's clip than to its neighbours' clips.
    half = settings.RENDER_TRANSITION_SECONDS / 2
    for index, (visual, at, shown) in enumerate(zip(asset.visuals, middles, frames, strict=True)):
        offset = at - (visual["start"] - half if index else 0.0)
        candidates = [n for n in (index - 1, index, index + 1) if 0 <= n < len(asset.visuals)]
        distances = {n: count_differing(shown, small_frame(Path(settings.MEDIA_ROOT) / asset.visuals[n]["path"],
                                                           offset), threshold=30) for n in candidates}
        assert min(distances, key=distances.get) == index, (index, distances)

    cover = Path(asset.cover.path)
    assert probe(cover).width == 1080 and 0 <= asset.cover_timestamp < info.duration
    assert count_differing(small_frame(cover, 0), at_cover, threshold=30) < 0.05 * area
