"""The sandbox render service's engine: check an Edit against Shotstack's schema, then render it with ffmpeg.

Checks follow the Shotstack API reference (Edit, Timeline, Track, Clip, the asset types, Output,
Poster): an Edit has `timeline` and `output` and may have `merge`, `callback`, `disk` and
`instance`, nothing else; clips need an `asset`, a `start` and a `length`; video, image and audio
assets need a `src` URL; `output.size` is even and at most 1920 for video. A refusal names the
property by its path, as the service's validation errors do.

Rendering does what the service does with the same timeline, so a test can look at the result:
every `src` is fetched over HTTP (a link the service cannot fetch fails the render, as it would
there), video and image clips are scaled to `fit` and laid over the background in track order
(the first track on top) during their span, `fade` transitions fade them in and out, text clips are
drawn at their `position` and `offset`, audio clips play at their `start` and the soundtrack under
everything. Motion `effect`s and the other transitions are accepted and drawn as a cut: the
sandbox shows what is where and when, not every flourish.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from pipeline.media.render import escape_filter_value

EDIT_PROPERTIES = ("timeline", "output", "merge", "callback", "disk", "instance")
TIMELINE_PROPERTIES = ("soundtrack", "background", "fonts", "tracks", "cache")
CLIP_PROPERTIES = ("asset", "start", "length", "fit", "scale", "position", "offset", "transition", "effect",
                   "filter", "opacity", "transform", "alias", "width", "height")
ASSET_TYPES = ("video", "image", "text", "rich-text", "title", "html", "audio", "luma", "caption", "shape",
               "image-to-video", "text-to-image", "text-to-speech", "html5")
SOURCED = ("video", "image", "audio", "luma", "caption")
RENDERED = ("video", "image", "text", "title", "audio")
FITS = ("cover", "contain", "crop", "none")
POSITIONS = ("top", "topRight", "right", "bottomRight", "bottom", "bottomLeft", "left", "topLeft", "center")
FORMATS = ("mp4", "gif", "mp3", "jpg", "png", "bmp")
FPS = (12, 15, 23.976, 24, 25, 29.97, 30, 48, 50, 59.94, 60)
RESOLUTIONS = {"preview": (512, 288), "mobile": (640, 360), "sd": (1024, 576), "hd": (1280, 720),
               "1080": (1920, 1080), "4k": (3840, 2160)}
MAX_DURATION = 180.0
FADE_SECONDS = 0.4
DOWNLOAD_TIMEOUT = 30.0
_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
# Shotstack's TextAsset font sizes are pixels of the output; ASS uses the same scale here.
_ALIGN = {"top": 8, "topRight": 9, "right": 6, "bottomRight": 3, "bottom": 2, "bottomLeft": 1, "left": 4,
          "topLeft": 7, "center": 5}


class EditError(ValueError):
    """A property the schema does not accept: `path` names it as the service's errors do."""

    def __init__(self, path: str, message: str, kind: str = "any.invalid"):
        super().__init__(f'"{path}" {message}')
        self.path = path
        self.kind = kind


class RenderFailed(Exception):
    """The render could not be made; the message is what the status endpoint reports as `error`."""


def _number(value, path: str, *, minimum: float | None = None, maximum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EditError(path, "must be a number", "number.base")
    if minimum is not None and value < minimum:
        raise EditError(path, f"must be greater than or equal to {minimum:g}", "number.min")
    if maximum is not None and value > maximum:
        raise EditError(path, f"must be less than or equal to {maximum:g}", "number.max")
    return float(value)


def _url(value, path: str) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise EditError(path, "must be a valid uri", "string.uri")
    return value


def _only(obj: dict, allowed: tuple, path: str) -> None:
    for key in obj:
        if key not in allowed:
            raise EditError(f"{path}.{key}" if path else key, "is not allowed", "object.unknown")


@dataclass
class Clip:
    kind: str
    start: float
    length: float
    track: int
    asset: dict
    fit: str = "crop"
    position: str = "center"
    offset: dict = field(default_factory=dict)
    transition: dict = field(default_factory=dict)
    local: Path | None = None

    @property
    def end(self) -> float:
        return self.start + self.length


@dataclass
class Edit:
    clips: list[Clip]
    width: int
    height: int
    fps: float
    background: str
    duration: float
    soundtrack: dict | None = None
    poster: float | None = None
    callback: str = ""


def validate(body: dict) -> Edit:
    """The Edit in `body`, or EditError naming the first property the schema refuses."""
    _only(body, EDIT_PROPERTIES, "")
    timeline, output = body.get("timeline"), body.get("output")
    if not isinstance(timeline, dict):
        raise EditError("timeline", "is required" if timeline is None else "must be of type object", "any.required")
    if not isinstance(output, dict):
        raise EditError("output", "is required" if output is None else "must be of type object", "any.required")
    _only(timeline, TIMELINE_PROPERTIES, "timeline")
    callback = body.get("callback") or ""
    if callback:
        _url(callback, "callback")

    fmt = output.get("format")
    if fmt not in FORMATS:
        raise EditError("output.format", f"must be one of [{', '.join(FORMATS)}]", "any.only")
    if fmt != "mp4":
        raise EditError("output.format", "is not rendered by the sandbox, which makes mp4 only", "any.only")
    if "fps" in output and output["fps"] not in FPS:
        raise EditError("output.fps", f"must be one of [{', '.join(f'{v:g}' for v in FPS)}]", "any.only")
    fps = float(output.get("fps", 25))
    size = output.get("size")
    if size is not None:
        if not isinstance(size, dict):
            raise EditError("output.size", "must be of type object", "object.base")
        width = size.get("width")
        height = size.get("height")
        for name, value in (("width", width), ("height", height)):
            if not isinstance(value, int) or isinstance(value, bool) or not 2 <= value <= 1920 or value % 2:
                raise EditError(f"output.size.{name}", "must be an even whole number of pixels up to 1920",
                                "number.base")
    else:
        resolution = output.get("resolution", "sd")
        if resolution not in RESOLUTIONS:
            raise EditError("output.resolution", f"must be one of [{', '.join(RESOLUTIONS)}]", "any.only")
        width, height = RESOLUTIONS[resolution]
        if output.get("aspectRatio") == "9:16":
            width, height = height, width
    poster = None
    if "poster" in output:
        if not isinstance(output["poster"], dict) or "capture" not in output["poster"]:
            raise EditError("output.poster.capture", "is required", "any.required")
        poster = _number(output["poster"]["capture"], "output.poster.capture", minimum=0)

    background = timeline.get("background", "#000000")
    if not isinstance(background, str) or not _HEX.match(background):
        raise EditError("timeline.background", "must be a hexadecimal colour", "string.pattern.base")
    soundtrack = timeline.get("soundtrack")
    if soundtrack is not None:
        if not isinstance(soundtrack, dict):
            raise EditError("timeline.soundtrack", "must be of type object", "object.base")
        _url(soundtrack.get("src"), "timeline.soundtrack.src")
        if "volume" in soundtrack:
            _number(soundtrack["volume"], "timeline.soundtrack.volume", minimum=0, maximum=1)
    tracks = timeline.get("tracks")
    if not isinstance(tracks, list) or not tracks:
        raise EditError("timeline.tracks", "must contain at least 1 items", "array.min")
    clips = []
    for t, track in enumerate(tracks):
        path = f"timeline.tracks[{t}]"
        if not isinstance(track, dict) or not isinstance(track.get("clips"), list) or not track["clips"]:
            raise EditError(f"{path}.clips", "must contain at least 1 items", "array.min")
        for c, clip in enumerate(track["clips"]):
            clips.append(_clip(clip, f"{path}.clips[{c}]", t))
    duration = max(clip.end for clip in clips)
    if duration > MAX_DURATION:
        raise EditError("timeline", f"runs {duration:g} s; the sandbox renders at most {MAX_DURATION:g} s",
                        "any.invalid")
    return Edit(clips=clips, width=width, height=height, fps=fps, background=background, duration=duration,
                soundtrack=soundtrack, poster=poster, callback=callback)


def _clip(clip, path: str, track: int) -> Clip:
    if not isinstance(clip, dict):
        raise EditError(path, "must be of type object", "object.base")
    _only(clip, CLIP_PROPERTIES, path)
    asset = clip.get("asset")
    if not isinstance(asset, dict):
        raise EditError(f"{path}.asset", "is required", "any.required")
    kind = asset.get("type")
    if kind not in ASSET_TYPES:
        raise EditError(f"{path}.asset.type", f"must be one of [{', '.join(ASSET_TYPES)}]", "any.only")
    if kind in SOURCED:
        _url(asset.get("src"), f"{path}.asset.src")
    if kind in ("text", "title") and not isinstance(asset.get("text"), str):
        raise EditError(f"{path}.asset.text", "is required", "any.required")
    if kind not in RENDERED:
        raise EditError(f"{path}.asset.type", f"{kind!r} is not rendered by the sandbox", "any.only")
    for name in ("start", "length"):
        if name not in clip:
            raise EditError(f"{path}.{name}", "is required", "any.required")
        if isinstance(clip[name], str):
            raise EditError(f"{path}.{name}", "smart clip values are not rendered by the sandbox", "number.base")
    start = _number(clip["start"], f"{path}.start", minimum=0)
    length = _number(clip["length"], f"{path}.length", minimum=0.001)
    fit = clip.get("fit", "crop")
    if fit not in FITS:
        raise EditError(f"{path}.fit", f"must be one of [{', '.join(FITS)}]", "any.only")
    position = clip.get("position", "center")
    if position not in POSITIONS:
        raise EditError(f"{path}.position", f"must be one of [{', '.join(POSITIONS)}]", "any.only")
    offset = clip.get("offset") or {}
    if not isinstance(offset, dict):
        raise EditError(f"{path}.offset", "must be of type object", "object.base")
    for axis in ("x", "y"):
        if axis in offset:
            _number(offset[axis], f"{path}.offset.{axis}", minimum=-10, maximum=10)
    transition = clip.get("transition") or {}
    if not isinstance(transition, dict):
        raise EditError(f"{path}.transition", "must be of type object", "object.base")
    return Clip(kind="text" if kind == "title" else kind, start=start, length=length, track=track, asset=asset,
                fit=fit, position=position, offset=offset, transition=transition)


# --- rendering ---------------------------------------------------------------------------------

def fetch_sources(edit: Edit, workdir: Path) -> None:
    """Download every src (the service's `fetching` step); a source it cannot fetch fails the render."""
    seen: dict[str, Path] = {}
    sources = [(clip, clip.asset["src"]) for clip in edit.clips if clip.kind in ("video", "image", "audio")]
    if edit.soundtrack:
        sources.append((None, edit.soundtrack["src"]))
    with httpx.Client(timeout=DOWNLOAD_TIMEOUT, follow_redirects=True) as client:
        for clip, url in sources:
            if url not in seen:
                name = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1] or "source"
                target = workdir / f"{len(seen)}-{re.sub(r'[^A-Za-z0-9._-]', '_', name)[-60:]}"
                try:
                    response = client.get(url)
                except httpx.HTTPError as exc:
                    raise RenderFailed(f"{name} could not be downloaded ({type(exc).__name__})")
                if response.status_code >= 400:
                    raise RenderFailed(f"{name} could not be downloaded ({response.status_code})")
                target.write_bytes(response.content)
                seen[url] = target
            if clip is not None:
                clip.local = seen[url]
            else:
                edit.soundtrack["local"] = str(seen[url])


def check_sources(edit: Edit, ffmpeg: str) -> None:
    """The service's `preprocessing` step: every video, image and audio source must be readable."""
    for clip in edit.clips:
        if clip.local is None:
            continue
        result = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(clip.local)], capture_output=True,
                                text=True, timeout=60)
        wanted = "Audio:" if clip.kind == "audio" else "Video:"
        if wanted not in result.stderr:
            raise RenderFailed(f"{clip.local.name.split('-', 1)[-1]} is not a readable {clip.kind} file")


def _ass_time(seconds: float) -> str:
    centiseconds = max(0, round(seconds * 100))
    hours, rest = divmod(centiseconds, 360_000)
    minutes, rest = divmod(rest, 6_000)
    secs, cs = divmod(rest, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{cs:02d}"


def _ass_colour(colour: str) -> str:
    match = _HEX.match(colour or "#ffffff")
    value = (match.group(1) if match else "ffffff")[-6:]
    return f"&H00{value[4:6]}{value[2:4]}{value[0:2]}&"


def text_document(edit: Edit) -> str:
    """ASS events for the text clips, placed by position and offset (offset y is up, in viewport units)."""
    lines = ["[Script Info]", "ScriptType: v4.00+", f"PlayResX: {edit.width}", f"PlayResY: {edit.height}",
             "WrapStyle: 0", "ScaledBorderAndShadow: yes", "", "[V4+ Styles]",
             "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, "
             "Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
             "Alignment, MarginL, MarginR, MarginV, Encoding",
             "Style: Text,DejaVu Sans,48,&H00FFFFFF,&H00FFFFFF,&H00000000,&H00000000,-1,0,0,0,100,100,0,0,1,4,0,"
             "5,40,40,40,1", "", "[Events]",
             "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"]
    for clip in sorted((c for c in edit.clips if c.kind == "text"), key=lambda c: -c.track):
        font = clip.asset.get("font") or {}
        size = int(font.get("size") or 48)
        anchor_x = {"left": 0.1, "topLeft": 0.1, "bottomLeft": 0.1, "right": 0.9, "topRight": 0.9,
                    "bottomRight": 0.9}.get(clip.position, 0.5)
        anchor_y = {"top": 0.08, "topLeft": 0.08, "topRight": 0.08, "bottom": 0.92, "bottomLeft": 0.92,
                    "bottomRight": 0.92}.get(clip.position, 0.5)
        x = (anchor_x + float(clip.offset.get("x", 0))) * edit.width
        y = (anchor_y - float(clip.offset.get("y", 0))) * edit.height
        text = " ".join(str(clip.asset.get("text", "")).split()).replace("{", "(").replace("}", ")")
        text = text.replace("\\", "/")
        overrides = f"{{\\an5\\pos({x:.0f},{y:.0f})\\fs{size}\\1c{_ass_colour(font.get('color', '#ffffff'))}}}"
        lines.append(f"Dialogue: {100 - clip.track},{_ass_time(clip.start)},{_ass_time(clip.end)},Text,,0,0,0,,"
                     f"{overrides}{text}")
    return "\n".join(lines) + "\n"


def _fit(clip: Clip, width: int, height: int) -> str:
    if clip.fit in ("cover", "crop"):
        return (f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height}")
    if clip.fit == "contain":
        return (f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
                f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black@0")
    return "null"


def _fades(clip: Clip) -> str:
    chain = ""
    if str(clip.transition.get("in", "")).startswith("fade"):
        chain += f",fade=t=in:st={clip.start:.3f}:d={FADE_SECONDS}:alpha=1"
    if str(clip.transition.get("out", "")).startswith("fade"):
        chain += f",fade=t=out:st={max(clip.start, clip.end - FADE_SECONDS):.3f}:d={FADE_SECONDS}:alpha=1"
    return chain


def ffmpeg_command(edit: Edit, ffmpeg: str, target: Path, workdir: Path) -> list[str]:
    """One ffmpeg run: background, visual clips bottom track first, text, and the mixed audio."""
    size, fps, duration = f"{edit.width}x{edit.height}", f"{edit.fps:g}", f"{edit.duration:.3f}"
    colour = "0x" + _HEX.match(edit.background).group(1)[-6:]
    args = [ffmpeg, "-y", "-hide_banner", "-loglevel", "error", "-nostdin",
            "-f", "lavfi", "-i", f"color=c={colour}:s={size}:r={fps}:d={duration}"]
    graph, video, inputs = [], "[0:v]", 1
    visuals = sorted((c for c in edit.clips if c.kind in ("video", "image")), key=lambda c: (-c.track, c.start))
    for n, clip in enumerate(visuals):
        if clip.kind == "image":
            args += ["-loop", "1", "-framerate", fps, "-t", f"{clip.length:.3f}", "-i", str(clip.local)]
        else:
            trim = float(clip.asset.get("trim") or 0)
            args += ["-stream_loop", "-1", "-ss", f"{trim:.3f}", "-t", f"{clip.length:.3f}", "-i", str(clip.local)]
        graph.append(f"[{inputs}:v]{_fit(clip, edit.width, edit.height)},fps={fps},format=yuva420p,"
                     f"setpts=PTS-STARTPTS+{clip.start:.3f}/TB{_fades(clip)}[c{n}]")
        graph.append(f"{video}[c{n}]overlay=(W-w)/2:(H-h)/2:eof_action=pass:"
                     f"enable='between(t,{clip.start:.3f},{clip.end:.3f})'[o{n}]")
        video, inputs = f"[o{n}]", inputs + 1
    if any(c.kind == "text" for c in edit.clips):
        ass = workdir / "text.ass"
        ass.write_text(text_document(edit), encoding="utf-8")
        graph.append(f"{video}ass=filename={escape_filter_value(str(ass))}[txt]")
        video = "[txt]"
    graph.append(f"{video}format=yuv420p[vout]")

    sounds = []
    for clip in (c for c in edit.clips if c.kind in ("audio", "video") and c.local is not None):
        volume = clip.asset.get("volume", 1)
        if not isinstance(volume, int | float) or volume <= 0:
            continue
        if clip.kind == "video" and not _has_audio(ffmpeg, clip.local):
            continue
        args += ["-i", str(clip.local)]
        delay = int(clip.start * 1000)
        sounds.append(f"[{inputs}:a]atrim=0:{clip.length:.3f},asetpts=PTS-STARTPTS,volume={float(volume):.3f},"
                      f"aformat=sample_rates=48000:channel_layouts=stereo,adelay={delay}|{delay}[a{len(sounds)}]")
        inputs += 1
    if edit.soundtrack:
        args += ["-stream_loop", "-1", "-i", edit.soundtrack["local"]]
        sounds.append(f"[{inputs}:a]atrim=0:{duration},volume={float(edit.soundtrack.get('volume', 1)):.3f},"
                      f"aformat=sample_rates=48000:channel_layouts=stereo[a{len(sounds)}]")
        inputs += 1
    if sounds:
        graph += sounds
        labels = "".join(f"[a{i}]" for i in range(len(sounds)))
        graph.append(f"{labels}amix=inputs={len(sounds)}:duration=longest:normalize=0,apad[aout]")
    else:
        args += ["-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo"]
        graph.append(f"[{inputs}:a]anull[aout]")
    return args + ["-filter_complex", ";".join(graph), "-map", "[vout]", "-map", "[aout]", "-t", duration,
                   "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-r", fps,
                   "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", "-f", "mp4", str(target)]


def _has_audio(ffmpeg: str, path: Path) -> bool:
    result = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True, text=True,
                            timeout=60)
    return "Audio:" in result.stderr


def render(edit: Edit, ffmpeg: str, target: Path, workdir: Path, *, timeout: float) -> None:
    partial = target.with_name(target.stem + ".part.mp4")
    try:
        result = subprocess.run(ffmpeg_command(edit, ffmpeg, partial, workdir), capture_output=True, text=True,
                                timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        partial.unlink(missing_ok=True)
        raise RenderFailed(f"ffmpeg could not run: {exc!r}")
    if result.returncode != 0 or not partial.exists():
        partial.unlink(missing_ok=True)
        raise RenderFailed(f"ffmpeg exited {result.returncode}: {result.stderr.strip()[-500:]}")
    os.replace(partial, target)


def poster(video: Path, at: float, ffmpeg: str, target: Path) -> None:
    result = subprocess.run([ffmpeg, "-y", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(video),
                             "-ss", f"{at:.3f}", "-frames:v", "1", "-vf", "scale=out_range=full,format=yuvj420p",
                             "-q:v", "2", str(target)],
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0 or not target.exists():
        raise RenderFailed(f"the poster could not be made: {result.stderr.strip()[-300:]}")


def clean(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
