import json
import subprocess

import pytest

from phantoms.resilience.errors import ConfigurationError, PermanentError
from pipeline.media import render as render_module
from pipeline.media.captions import CaptionStyle
from pipeline.media.ffmpeg import exact_duration, ffmpeg_exe, probe
from pipeline.media.render import RenderSpec, escape_filter_value, render_video
from pipeline.media.voice import synthesize_offline

from .helpers import (
    count_differing,
    count_matching,
    frame_rgb,
    make_image,
    make_tone,
    max_volume_db,
    top_level_atoms,
)

TEXT = "Octopuses have three hearts. Each one pumps blue blood!"
SECONDS = 3.6
# Bottom part of the frame where captions sit (width, height, x, y), and a band above it.
CAPTION_BAND = (1080, 560, 0, 1920 - 384 - 560)
EMPTY_BAND = (1080, 300, 0, 700)
BACKGROUND = {"type": "color", "colors": ["#203050"]}


def _is_highlight(r, g, b):
    # CaptionStyle's default highlight is amber-yellow (R=255, G=225, B=0).
    return r > 200 and g > 170 and b < 90


@pytest.fixture(scope="module")
def voice(tmp_path_factory):
    folder = tmp_path_factory.mktemp("voice")
    return synthesize_offline(TEXT, folder / "voice.wav", engine="silence",
                              words_per_second=len(TEXT.split()) / SECONDS)


@pytest.fixture(scope="module")
def renders(voice, tmp_path_factory):
    folder = tmp_path_factory.mktemp("render")
    seen: list[float] = []
    captioned = RenderSpec(audio_path=str(voice.path), timings=voice.timings, title="Three hearts",
                           background=BACKGROUND)
    bare = RenderSpec.from_dict({**captioned.to_dict(), "captions": False, "title_card": False})
    return {
        "captioned": render_video(captioned, folder / "captioned.mp4", progress=seen.append),
        "captioned_path": folder / "captioned.mp4",
        "bare": render_video(bare, folder / "bare.mp4"),
        "bare_path": folder / "bare.mp4",
        "progress": seen,
    }


def test_render_matches_the_voice_and_the_delivery_format(renders, voice):
    info = renders["captioned"]
    assert abs(info.duration - voice.duration) <= 0.2
    assert (info.width, info.height) == (1080, 1920)
    assert info.video_codec == "h264"
    assert info.audio_codec == "aac"
    assert info.audio_sample_rate == 48000
    assert info.fps == pytest.approx(30)
    assert info.has_subtitle_stream is False  # captions are burned in, not a side stream
    assert probe(renders["captioned_path"]) == info
    assert exact_duration(renders["captioned_path"]) == pytest.approx(voice.duration, abs=0.2)


def test_render_is_h264_high_yuv420p_with_faststart(renders):
    stderr = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(renders["captioned_path"])],
                            capture_output=True, text=True, timeout=60).stderr
    assert "h264 (High)" in stderr
    assert "yuv420p" in stderr
    atoms = top_level_atoms(renders["captioned_path"])
    assert atoms.index("moov") < atoms.index("mdat")  # playable while still downloading


def test_burned_captions_change_the_caption_area_only(renders, voice):
    # A word spoken well after the title card has faded.
    word = next(w for w in voice.timings if w["start"] > 1.8)
    at = (word["start"] + word["end"]) / 2
    captioned = frame_rgb(renders["captioned_path"], at, crop=CAPTION_BAND)
    bare = frame_rgb(renders["bare_path"], at, crop=CAPTION_BAND)
    assert count_differing(captioned, bare) > 5000
    assert count_matching(captioned, _is_highlight) > 300
    assert count_matching(bare, _is_highlight) == 0
    above_captions = count_differing(frame_rgb(renders["captioned_path"], at, crop=EMPTY_BAND),
                                     frame_rgb(renders["bare_path"], at, crop=EMPTY_BAND))
    assert above_captions == 0


def test_title_card_shows_at_the_start_and_is_gone_later(renders):
    top = (1080, 640, 0, 0)
    early = count_differing(frame_rgb(renders["captioned_path"], 0.7, crop=top),
                            frame_rgb(renders["bare_path"], 0.7, crop=top))
    late = count_differing(frame_rgb(renders["captioned_path"], 3.0, crop=top),
                           frame_rgb(renders["bare_path"], 3.0, crop=top))
    assert early > 2000
    assert late == 0


def test_progress_reports_increasing_fractions_up_to_one(renders):
    seen = renders["progress"]
    assert seen, "no progress reported"
    assert seen == sorted(seen)
    assert seen[-1] == pytest.approx(1.0)
    assert all(0 <= f <= 1 for f in seen)


def test_spec_round_trips_through_json(voice):
    spec = RenderSpec(audio_path=str(voice.path), timings=voice.timings, script={"title": "T"},
                      background={"type": "images", "images": ["/x/a.png"]}, music_path="/x/m.mp3")
    restored = RenderSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert restored == spec
    assert restored.resolved_title() == "T"


def test_gradient_background_without_the_gradients_filter(voice, tmp_path, monkeypatch):
    monkeypatch.setattr(render_module, "has_filter", lambda name: False)
    spec = RenderSpec(audio_path=str(voice.path), timings=voice.timings, captions=False, title_card=False,
                      background={"type": "gradient", "colors": ["#ff0000", "#0000ff"]}, duration=1.0)
    info = render_video(spec, tmp_path / "g.mp4")
    assert info.duration == pytest.approx(1.0, abs=0.2)
    top = frame_rgb(tmp_path / "g.mp4", 0.5, crop=(8, 8, 536, 4))
    bottom = frame_rgb(tmp_path / "g.mp4", 0.5, crop=(8, 8, 536, 1908))
    assert count_matching(top, lambda r, g, b: r > 180 and b < 80) == 64
    assert count_matching(bottom, lambda r, g, b: b > 180 and r < 80) == 64


def test_images_background_with_music_bed(voice, tmp_path):
    images = [make_image(tmp_path / "a.png"), make_image(tmp_path / "b.jpg", "mandelbrot=s=400x600")]
    music = make_tone(tmp_path / "bed.mp3", seconds=1.5)
    spec = RenderSpec(audio_path=str(voice.path), timings=voice.timings, title="Bed",
                      background={"type": "images", "images": [str(p) for p in images]},
                      music_path=str(music), music_volume=0.3)
    info = render_video(spec, tmp_path / "kb.mp4")
    assert abs(info.duration - voice.duration) <= 0.2
    assert (info.width, info.height) == (1080, 1920)
    # The voice is silent, so any sound is the looped music bed, still there after its own 1.5 s.
    assert max_volume_db(tmp_path / "kb.mp4", start=2.0) > -40
    first = frame_rgb(tmp_path / "kb.mp4", 0.2, crop=(200, 200, 440, 300))
    second = frame_rgb(tmp_path / "kb.mp4", SECONDS - 0.3, crop=(200, 200, 440, 300))
    assert count_differing(first, second) > 1000  # the second image replaced the first


def test_music_is_ducked_under_the_voice(tmp_path):
    voice = make_tone(tmp_path / "voice.wav", seconds=2.0, frequency=1000)
    music = make_tone(tmp_path / "bed.wav", seconds=2.0, frequency=200)
    levels = {}
    for duck in (True, False):
        spec = RenderSpec(audio_path=str(voice), music_path=str(music), music_volume=0.5, duck_music=duck,
                          captions=False, title_card=False, background=BACKGROUND)
        render_video(spec, tmp_path / f"duck-{duck}.mp4")
        levels[duck] = max_volume_db(tmp_path / f"duck-{duck}.mp4", start=0.5,
                                     prefilter="lowpass=f=400,lowpass=f=400")
    assert levels[True] < levels[False] - 6


def test_silent_voice_renders_silent_audio(renders):
    assert max_volume_db(renders["bare_path"]) < -80


def test_font_in_a_directory_with_filter_syntax_characters(voice, tmp_path):
    odd = tmp_path / "we:ird, [fonts];'dir"
    odd.mkdir()
    (odd / "Caption.ttf").write_bytes((render_module.find_font().path).read_bytes())
    spec = RenderSpec(audio_path=str(voice.path), timings=voice.timings, background=BACKGROUND,
                      font_path=str(odd / "Caption.ttf"), duration=1.0)
    assert render_video(spec, tmp_path / "odd.mp4").duration == pytest.approx(1.0, abs=0.2)


def test_filter_value_escaping():
    # The graph parser turns \\ into \, then the option parser turns \: into :
    assert escape_filter_value("a:b") == "a\\\\:b"
    assert escape_filter_value("it's") == "it\\\\\\'s"
    assert escape_filter_value("x,y[z]") == "x\\,y\\[z\\]"


def test_missing_voice_is_permanent(tmp_path):
    with pytest.raises(PermanentError, match="voice track"):
        render_video(RenderSpec(audio_path=str(tmp_path / "none.wav")), tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


def test_invalid_colour_is_permanent_and_leaves_no_file(voice, tmp_path):
    spec = RenderSpec(audio_path=str(voice.path), background={"type": "color", "colors": ["red;rm -rf"]})
    with pytest.raises(PermanentError, match="colour"):
        render_video(spec, tmp_path / "x.mp4")
    assert list(tmp_path.iterdir()) == []


def test_unreadable_image_surfaces_ffmpegs_error(voice, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image at all" * 20)
    spec = RenderSpec(audio_path=str(voice.path), captions=False, title_card=False,
                      background={"type": "images", "images": [str(broken)]})
    with pytest.raises(PermanentError, match="ffmpeg exited"):
        render_video(spec, tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()
    assert not (tmp_path / "x.partial.mp4").exists()


def test_bad_render_font_is_a_configuration_error(voice, tmp_path):
    spec = RenderSpec(audio_path=str(voice.path), font_path=str(tmp_path / "missing.ttf"))
    with pytest.raises(ConfigurationError, match="RENDER_FONT"):
        render_video(spec, tmp_path / "x.mp4")


def test_caption_style_has_no_shadow_by_default():
    # Shadows cost a third of caption rendering time; see the render module's speed notes.
    assert CaptionStyle().shadow == 0
