"""Offline motion backgrounds: real moving clips, a different look for every beat, themes by name."""

import pytest

from phantoms.resilience.errors import PermanentError
from pipeline.media.ffmpeg import probe
from pipeline.media.motion import STYLES, THEMES, MotionPlan, make_motion_clip, plan_for_beat, ramp, theme_palette

from .helpers import count_differing, frame_rgb


@pytest.mark.parametrize("salt", [f"asset-{n}" for n in range(12)])
def test_neighbouring_beats_differ_and_twelve_beats_never_repeat_a_look(salt):
    plans = [plan_for_beat("dusk", index, salt=salt) for index in range(12)]
    assert all(a.style != b.style and a.palette != b.palette for a, b in zip(plans, plans[1:], strict=False))
    assert len({(p.style, p.palette) for p in plans}) == 12
    assert len({p.seed for p in plans}) == 12
    # A style that comes back does so on another background colour.
    for style in STYLES:
        backgrounds = [p.palette[0] for p in plans if p.style == style]
        assert len(backgrounds) == len(set(backgrounds)) == 3


def test_the_same_asset_always_gets_the_same_plans():
    assert plan_for_beat("ocean", 3, salt="asset-1") == plan_for_beat("ocean", 3, salt="asset-1")
    assert plan_for_beat("ocean", 3, salt="asset-1") != plan_for_beat("ocean", 3, salt="asset-2")


def test_plans_use_the_themes_colours():
    plan = plan_for_beat("forest", 0, salt="x")
    assert set(plan.palette) == set(THEMES["forest"])


def test_an_unknown_theme_is_refused_by_name():
    with pytest.raises(PermanentError, match="visual_theme: unknown theme 'neon'"):
        theme_palette("neon")


def test_ramp_maps_grey_through_three_colours():
    expression = ramp(("#000000", "#808080", "#ffffff"))
    assert expression.startswith("lutrgb=r='if(lt(val\\,128)\\,0+(128-0)*val/128")


@pytest.mark.parametrize("style", STYLES)
def test_each_style_draws_a_moving_clip_of_the_asked_length(style, tmp_path):
    plan = MotionPlan(style=style, palette=THEMES["dusk"], seed=42)
    path = make_motion_clip(tmp_path / f"{style}.mp4", plan, 1.5, size="180x320")

    info = probe(path)
    assert (info.width, info.height, info.video_codec) == (180, 320, "h264")
    assert info.duration == pytest.approx(1.5, abs=0.1)
    first, later = frame_rgb(path, 0.1), frame_rgb(path, 1.3)
    assert count_differing(first, later, threshold=6) > 500, "the background does not move"
    # Not a flat colour: the frame has light and dark parts.
    lows = sum(1 for i in range(0, len(later), 3) if sum(later[i:i + 3]) < 200)
    highs = sum(1 for i in range(0, len(later), 3) if sum(later[i:i + 3]) > 250)
    assert lows and highs
    assert not list(tmp_path.glob("*.partial.*"))


def test_a_bad_size_or_length_is_permanent(tmp_path):
    plan = MotionPlan(style="waves", palette=THEMES["mono"], seed=1)
    with pytest.raises(PermanentError, match="VISUALS_OFFLINE_SIZE"):
        make_motion_clip(tmp_path / "x.mp4", plan, 1.0, size="big")
    with pytest.raises(PermanentError, match="positive length"):
        make_motion_clip(tmp_path / "x.mp4", plan, 0, size="180x320")
