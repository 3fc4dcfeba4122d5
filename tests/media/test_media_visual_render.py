"""The render with a visual per beat: each beat's clip in its span, transitions, headlines, the cover."""

import subprocess

import pytest

from phantoms.resilience.errors import PermanentError
from pipeline.media.ffmpeg import extract_frame, ffmpeg_exe, probe
from pipeline.media.motion import THEMES, MotionPlan, make_motion_clip
from pipeline.media.render import RenderSpec, build_command, render_video
from pipeline.media.voice import synthesize_offline

from .helpers import count_differing, frame_rgb, image_rgb, make_image

W, H = 360, 640
SPANS = [(0.0, 1.6), (1.6, 3.0), (3.0, 4.5)]
# The middle of the frame: clear of the headline at the top and the captions at the bottom.
MIDDLE = (W, 160, 0, 240)
TOP = (W, 100, 0, 100)
TEXT = "Rest well tonight. Keep the room cool. Put the phone away early."


@pytest.fixture(scope="module")
def voice(tmp_path_factory):
    folder = tmp_path_factory.mktemp("voice")
    return synthesize_offline(TEXT, folder / "voice.wav", engine="silence",
                              words_per_second=len(TEXT.split()) / 4.5)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    looks = [("waves", "dusk"), ("bokeh", "ocean"), ("aurora", "ember")]
    return [make_motion_clip(folder / f"{i}.mp4", MotionPlan(style, THEMES[theme], 10 + i), 2.2, size="180x320")
            for i, (style, theme) in enumerate(looks)]


def visuals_for(paths, kind="video"):
    return [{"beat": i, "kind": kind, "path": str(p), "start": s, "end": e}
            for i, (p, (s, e)) in enumerate(zip(paths, SPANS, strict=True))]


def spec_for(voice, visuals, **overrides):
    options = {"width": W, "height": H, "title": "Sleep", "preset": "ultrafast", "transition": "fade",
               "headlines": [{"text": f"Beat {i + 1}", "start": s, "end": e} for i, (s, e) in enumerate(SPANS)]}
    options.update(overrides)
    return RenderSpec(audio_path=str(voice.path), timings=voice.timings, visuals=visuals, **options)


@pytest.fixture(scope="module")
def rendered(voice, clips, tmp_path_factory):
    folder = tmp_path_factory.mktemp("render")
    info = render_video(spec_for(voice, visuals_for(clips)), folder / "beats.mp4")
    return info, folder / "beats.mp4"


def test_the_video_runs_as_long_as_the_voice(rendered, voice):
    info, _ = rendered
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (W, H, "h264", "aac")
    assert info.duration == pytest.approx(voice.duration, abs=0.2)


def test_each_beat_shows_its_own_visual(rendered, clips):
    _, path = rendered
    middles = [frame_rgb(path, (s + e) / 2, crop=MIDDLE) for s, e in SPANS]
    for a in range(3):
        for b in range(a + 1, 3):
            assert count_differing(middles[a], middles[b]) > 0.3 * W * 160, (a, b)


def test_a_beats_frame_comes_from_its_own_clip(rendered, clips, tmp_path):
    """The render's frame in the middle of beat 2 looks like beat 2's clip, not like the others."""
    _, path = rendered
    at = (SPANS[1][0] + SPANS[1][1]) / 2
    frame = frame_rgb(path, at, crop=MIDDLE)
    # Beat 2's clip starts half a transition (0.2 s) before its span: this is its frame at 0.9 s.
    offset = at - (SPANS[1][0] - 0.2)
    scaled = []
    for index, clip in enumerate(clips):
        still = extract_frame(clip, offset, tmp_path / f"src{index}.jpg")
        big = tmp_path / f"src{index}.png"
        subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(still), "-vf", f"scale={W}:{H}",
                        str(big)], check=True, timeout=60)
        scaled.append(image_rgb(big, crop=MIDDLE))
    differences = [count_differing(frame, source, threshold=60) for source in scaled]
    assert differences[1] == min(differences) and differences[1] < 0.2 * W * 160, differences


def solid(path, colour, seconds=2.5):
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"color=c={colour}:s=90x160:r=30:d={seconds}", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(path)], check=True, timeout=60)
    return path


def test_transitions_are_centred_on_the_beat_boundaries(voice, tmp_path):
    clips = [solid(tmp_path / "r.mp4", "red"), solid(tmp_path / "g.mp4", "lime"), solid(tmp_path / "b.mp4", "blue")]
    spec = spec_for(voice, visuals_for(clips), transition_seconds=0.4, headlines=[], captions=False,
                    title_card=False)
    render_video(spec, tmp_path / "fade.mp4")
    patch = (40, 40, 160, 300)

    def colour(at):
        data = frame_rgb(tmp_path / "fade.mp4", at, crop=patch)
        return tuple(sum(data[i::3]) // (len(data) // 3) for i in range(3))

    red, green = colour(1.35), colour(1.85)
    assert red[0] > 200 and red[1] < 40 and green[1] > 200 and green[0] < 40  # before and after the transition
    middle = colour(1.6)  # the boundary: half way through the cross-fade
    assert 70 < middle[0] < 190 and 70 < middle[1] < 190, middle
    blue = colour(3.25)
    assert blue[2] > 200 and blue[1] < 40
    assert 70 < colour(3.0)[2] < 190  # the second boundary, at 3.0 s


def test_transitions_only_touch_the_frames_they_blend(voice, clips, tmp_path):
    command = build_command(spec_for(voice, visuals_for(clips), transition_seconds=0.4), tmp_path / "x.mp4",
                            ass_path=None, fonts_dir=None, duration=4.5)
    graph = command[command.index("-filter_complex") + 1]
    # Each join blends 12 frames (0.4 s): the tail of one clip and the head of the next.
    assert graph.count("xfade=") == 2 and graph.count("duration=0.4000:offset=0") == 2
    assert "[tail0in]trim=start_frame=42:end_frame=54" in graph  # beat 1 runs 1.6 s + 0.2 s = 54 frames
    assert "concat=n=5" in graph  # body, join, body, join, body


def test_auto_transitions_vary_and_cut_means_none(voice, clips, tmp_path):
    auto = build_command(spec_for(voice, visuals_for(clips), transition="auto"), tmp_path / "a.mp4",
                         ass_path=None, fonts_dir=None, duration=4.5)
    graph = auto[auto.index("-filter_complex") + 1]
    assert "transition=fade" in graph and "transition=smoothleft" in graph
    cut_spec = spec_for(voice, visuals_for(clips), transition="cut")
    cut = build_command(cut_spec, tmp_path / "c.mp4", ass_path=None, fonts_dir=None, duration=4.5)
    assert "concat=n=3" in cut[cut.index("-filter_complex") + 1]
    info = render_video(cut_spec, tmp_path / "cut.mp4")
    assert info.duration == pytest.approx(4.5, abs=0.2)


def test_headlines_show_each_beats_text_at_the_top(rendered, voice, clips, tmp_path):
    _, path = rendered
    bare = render_video(spec_for(voice, visuals_for(clips), headlines=[]), tmp_path / "bare.mp4")
    assert bare.duration > 0
    at = (SPANS[1][0] + SPANS[1][1]) / 2
    with_text = frame_rgb(path, at, crop=TOP)
    without = frame_rgb(tmp_path / "bare.mp4", at, crop=TOP)
    assert count_differing(with_text, without) > 300


def test_image_visuals_move_within_their_beat(voice, tmp_path):
    images = [make_image(tmp_path / "a.png", "testsrc2=s=320x480"),
              make_image(tmp_path / "b.png", "mandelbrot=s=320x480"),
              make_image(tmp_path / "c.png", "smptebars=s=320x480")]
    info = render_video(spec_for(voice, visuals_for(images, kind="image")), tmp_path / "kb.mp4")
    assert info.duration == pytest.approx(voice.duration, abs=0.2)
    early, late = frame_rgb(tmp_path / "kb.mp4", 0.2, crop=MIDDLE), frame_rgb(tmp_path / "kb.mp4", 1.3, crop=MIDDLE)
    assert count_differing(early, late) > 200, "Ken Burns motion"
    other = frame_rgb(tmp_path / "kb.mp4", 3.7, crop=MIDDLE)
    assert count_differing(late, other) > 0.3 * W * 160


def test_a_clip_shorter_than_its_beat_loops(voice, tmp_path):
    short = make_motion_clip(tmp_path / "short.mp4", MotionPlan("waves", THEMES["mono"], 3), 0.5, size="180x320")
    visuals = [{"beat": 0, "kind": "video", "path": str(short), "start": 0, "end": 4.5}]
    info = render_video(spec_for(voice, visuals, headlines=[]), tmp_path / "loop.mp4")
    assert info.duration == pytest.approx(4.5, abs=0.2)
    assert count_differing(frame_rgb(tmp_path / "loop.mp4", 1.2, crop=MIDDLE),
                           frame_rgb(tmp_path / "loop.mp4", 3.9, crop=MIDDLE), threshold=4) > 100


def test_the_cover_is_the_frame_at_its_timestamp(rendered, tmp_path):
    _, path = rendered
    cover = extract_frame(path, 2.3, tmp_path / "cover.jpg")
    info = probe(cover)
    assert (info.width, info.height) == (W, H)
    from_cover = image_rgb(cover, crop=MIDDLE)
    assert count_differing(from_cover, frame_rgb(path, 2.3, crop=MIDDLE), threshold=30) < 0.05 * W * 160
    assert count_differing(from_cover, frame_rgb(path, 0.5, crop=MIDDLE), threshold=30) > 0.3 * W * 160


def test_bad_visuals_are_permanent_and_name_the_beat(voice, clips, tmp_path):
    missing = visuals_for(clips)
    missing[1]["path"] = str(tmp_path / "gone.mp4")
    with pytest.raises(PermanentError, match="beat 1: file .*gone.mp4.* not found"):
        render_video(spec_for(voice, missing), tmp_path / "x.mp4")
    odd = visuals_for(clips)
    odd[2]["kind"] = "hologram"
    with pytest.raises(PermanentError, match="beat 2: unknown kind 'hologram'"):
        render_video(spec_for(voice, odd), tmp_path / "x.mp4")
    with pytest.raises(PermanentError, match="RENDER_TRANSITION: unknown transition 'spin'"):
        render_video(spec_for(voice, visuals_for(clips), transition="spin"), tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()
