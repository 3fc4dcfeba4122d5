"""Offline motion backgrounds: a short, softly moving clip per beat, drawn by ffmpeg's own sources.

No stock footage and no network: each clip comes from one of a few generators (Perlin-noise aurora,
drifting bokeh, interfering waves, a turning light cone), coloured with a theme's palette. The
style and the palette's order change from beat to beat, so consecutive beats never look alike, and
the same asset always gets the same clips (seeds come from the asset and the beat).

Clips are generated small (VISUALS_OFFLINE_SIZE, 360x640 by default) and scaled up by the render:
the content is soft by design, and a small clip costs a fraction of a full-size one to make.

Inside a clip the same idea goes further. ffmpeg's filters run on one core and cost per pixel, and
they, not the encoder, used to dominate a clip's cost: each style now does all its per-pixel work
(noise, wave maths, gradients, the grain blend, the palette ramp, the vignette) at a working size
a third or a quarter of the clip's, and ends with one bicubic scale to the clip's size that also
converts to yuv420p. The content is soft, so the upscale shows nothing; the vignette is relative to
the frame, so it looks the same drawn small. Bokeh is the one exception: its field is drawn,
blurred and coloured once as a still, and its drifting crop runs at the clip's size, since a crop
moves by whole pixels and a small one scaled up would visibly step. On a 10 s clip at 360x640 this
took the filters from about 16 to 5 CPU seconds for the four styles (bench.motion_bench).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from phantoms.resilience.errors import PermanentError

from .ffmpeg import run_ffmpeg

PROVIDER = "visuals"
STYLES = ("aurora", "bokeh", "waves", "cone")
# Each theme: a dark base, a middle tone and an accent, darkest first (captions stay readable on it).
THEMES: dict[str, tuple[str, str, str]] = {
    "dusk": ("#121030", "#5c288c", "#ff7a59"),
    "ocean": ("#06202e", "#0f6e8c", "#5fe3d0"),
    "forest": ("#0c1f14", "#2e6b3f", "#c8e36b"),
    "ember": ("#1e0a08", "#8c2a1c", "#ffb347"),
    "mono": ("#101114", "#50545c", "#e8e8ea"),
    "candy": ("#24102e", "#c0397f", "#ffd36e"),
}
_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")
_SIZE = re.compile(r"^(\d{2,4})x(\d{2,4})$")


def theme_palette(name: str) -> tuple[str, str, str]:
    try:
        return THEMES[name]
    except KeyError:
        raise PermanentError(f"visual_theme: unknown theme {name!r}; choose one of {', '.join(sorted(THEMES))}",
                             provider=PROVIDER)


def _rgb(colour: str) -> tuple[int, int, int]:
    match = _HEX.match(colour)
    if not match:
        raise PermanentError(f"invalid theme colour {colour!r}", provider=PROVIDER)
    value = int(match.group(1), 16)
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


def _hex(colour: str) -> str:
    red, green, blue = _rgb(colour)
    return f"0x{red:02x}{green:02x}{blue:02x}"


def ramp(palette: tuple[str, str, str]) -> str:
    """A lutrgb filter mapping grey 0..255 through the palette's three colours, dark to bright."""
    stops = [_rgb(colour) for colour in palette]
    channels = []
    for index, name in enumerate("rgb"):
        low, mid, high = (stop[index] for stop in stops)
        # Commas inside a filter option are escaped for the graph parser.
        expression = (f"if(lt(val\\,128)\\,{low}+({mid}-{low})*val/128\\,"
                      f"{mid}+({high}-{mid})*(val-128)/127)")
        channels.append(f"{name}='{expression}'")
    return "lutrgb=" + ":".join(channels)


@dataclass(frozen=True)
class MotionPlan:
    """What one beat's clip looks like; stored with the visual so it can be made again."""

    style: str
    palette: tuple[str, str, str]
    seed: int

    def to_dict(self) -> dict:
        return {"style": self.style, "palette": list(self.palette), "seed": self.seed}


def plan_for_beat(theme: str, index: int, salt: str) -> MotionPlan:
    """A style and palette order for beat `index`: neighbours differ in both, beats that share a style
    never share a background colour, and no twelve beats in a row repeat a (style, palette) pair."""
    base = theme_palette(theme)
    seed = int(hashlib.sha256(f"{salt}:{index}".encode()).hexdigest()[:8], 16)
    step = int(hashlib.sha256(salt.encode()).hexdigest()[:2], 16) + index
    style = STYLES[step % len(STYLES)]
    dark, mid, accent = base
    # The first colour is the background (the low end of the ramp). Each round of the four styles
    # moves the palette on by one more, so a style comes back on a different background.
    palette = [(dark, mid, accent), (mid, dark, accent), (accent, dark, mid)][(step + step // len(STYLES)) % 3]
    return MotionPlan(style=style, palette=palette, seed=seed)


def _size(size: str) -> tuple[int, int]:
    match = _SIZE.match(size)
    if not match:
        raise PermanentError(f"VISUALS_OFFLINE_SIZE must look like 360x640, not {size!r}", provider=PROVIDER)
    width, height = int(match.group(1)), int(match.group(2))
    if width % 2 or height % 2:
        raise PermanentError("VISUALS_OFFLINE_SIZE needs even dimensions", provider=PROVIDER)
    return width, height


def _working(width: int, height: int, divisor: int) -> str:
    """The small size a style draws at: `divisor` times smaller than the clip, even dimensions."""
    return f"{max(2, width // divisor) // 2 * 2}x{max(2, height // divisor) // 2 * 2}"


def source_graph(plan: MotionPlan, *, width: int, height: int, fps: int = 30) -> str:
    """The lavfi graph that draws `plan` at width x height.

    Every per-pixel filter (noise, wave maths, gradients, blend, the palette ramp, the vignette) runs
    at the style's small working size; the graph ends with one bicubic scale to width x height that
    also converts to yuv420p. Bokeh instead colours its still field once and crops and vignettes at
    width x height (see there).
    """
    seed = plan.seed
    colour = ramp(plan.palette)
    # Vignette factors computed once: darker edges keep captions and the platform's buttons legible.
    # The vignette is relative to the frame's size, so drawn small it looks the same scaled up.
    vignette = "vignette=PI/5:eval=init"
    finish = f"scale={width}x{height}:flags=bicubic,format=yuv420p"
    if plan.style == "aurora":
        # Perlin noise hovers around mid grey; stretched, it sweeps the whole palette.
        return (f"perlin=s={_working(width, height, 3)}:r={fps}:octaves=3:persistence=0.5:xscale=1.6:yscale=0.8:"
                f"tscale=0.15:random_mode=seed:seed={seed},lut=c0='clip((val-128)*2.6+128\\,0\\,255)',"
                f"format=rgb24,{colour},{vignette},{finish}")
    if plan.style == "bokeh":
        # A still field of soft lights, larger than the frame, that the frame drifts across (a crop
        # window moving slowly: no seam, unlike scrolling a picture that does not tile). The field is
        # drawn, blurred and coloured once, as a single picture; per frame there is only the crop,
        # which moves the window by whole pixels and so runs at the clip's size (a window moving
        # across a small field and scaled up would step visibly), the vignette and the conversion.
        big_w, big_h = width * 5 // 4 // 2 * 2, height * 5 // 4 // 2 * 2
        grid = f"{max(8, big_w // 8)}x{max(8, big_h // 8)}"
        phase = (seed % 628) / 100
        return (f"life=s={grid}:ratio=0.09:mold=0:death_color=black:life_color=white:seed={seed}:r={fps},"
                f"trim=start_frame=25:end_frame=26,setpts=PTS-STARTPTS,scale={big_w}x{big_h}:flags=bilinear,"
                f"gblur=sigma={max(4, width // 26)},lutyuv=y='min(255\\,28+val*3.2)',format=rgb24,{colour},"
                f"loop=loop=-1:size=1,fps={fps},"
                f"crop=w={width}:h={height}:x='(iw-ow)/2*(1+sin(t/7+{phase:.2f}))':y='(ih-oh)/2*(1+cos(t/9+{phase:.2f}))',"
                f"{vignette},format=yuv420p")
    if plan.style == "waves":
        period = 3.5 + (seed % 4)
        speed = 1.0 + (seed % 3) * 0.2
        return (f"nullsrc=s={_working(width, height, 4)}:r={fps},"
                f"geq=lum='128+62*sin(X/{period:.1f}+T*{speed:.1f})+62*sin((X+Y)/{period * 1.6:.1f}-T*0.7)':"
                f"cb=128:cr=128,format=rgb24,{colour},{vignette},{finish}")
    if plan.style == "cone":
        dark, light, accent = plan.palette
        small = _working(width, height, 4)
        # Gradient points sit and turn relative to the frame, so the small cone is the big one, softer.
        return (f"gradients=s={small}:r={fps}:n=4:c0={_hex(dark)}:c1={_hex(light)}:c2={_hex(accent)}:"
                f"c3={_hex(dark)}:type=circular:speed=0.02:seed={seed},format=rgb24[cone];"
                f"perlin=s={small}:r={fps}:octaves=2:xscale=2:yscale=2:tscale=0.2:random_mode=seed:seed={seed},"
                f"format=rgb24[grain];"
                f"[cone][grain]blend=all_mode=softlight,{vignette},{finish}")
    raise PermanentError(f"unknown motion style {plan.style!r}; expected one of {STYLES}", provider=PROVIDER)


def make_motion_clip(out_path: str | os.PathLike, plan: MotionPlan, seconds: float, *, size: str = "360x640",
                     fps: int = 30, timeout: float = 300, cancel: threading.Event | None = None) -> Path:
    """Write an H.264 clip of `seconds` drawing `plan`; it appears at `out_path` only once complete.

    `cancel` (set from another thread) stops ffmpeg and raises ffmpeg.Cancelled; nothing is left behind.
    """
    if seconds <= 0:
        raise PermanentError(f"a motion clip needs a positive length, not {seconds}", provider=PROVIDER)
    width, height = _size(size)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # Named for this process and thread too: two makers of the same clip never share a partial file.
    partial = out_path.with_name(f"{out_path.stem}.{os.getpid()}-{threading.get_ident()}.partial{out_path.suffix}")
    graph = source_graph(plan, width=width, height=height, fps=fps)
    # The clip is an intermediate, read once by the render: x264's fastest preset at the same CRF
    # keeps its quality for about half the encoder's CPU (bench.motion_bench: the four clips from 15
    # to 9 CPU seconds), at about 1.7x the bytes of a file only a few hundred KB long.
    try:
        run_ffmpeg(["-y", "-f", "lavfi", "-i", graph, "-t", f"{seconds:.3f}", "-an",
                    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "20", "-pix_fmt", "yuv420p",
                    "-g", str(fps * 2), "-movflags", "+faststart", "-f", "mp4", os.fspath(partial)],
                   timeout=timeout, cancel=cancel)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out_path)
    return out_path
