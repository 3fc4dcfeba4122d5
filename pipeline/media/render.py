"""The render stage's one ffmpeg invocation: a visual per beat, burned captions, voice and optional music.

A RenderSpec holds every input as plain JSON, so a stored spec (with the same files and font)
re-renders the same video. Speed notes, measured on a 2-core machine against plain ffmpeg
encoding a solid colour (bench/render_bench.py): static backgrounds are drawn once and looped
(the frames are shared, so neither the source nor the pixel-format conversion runs per frame),
and captions have no drop shadow (libass blends every layer onto every frame, and the shadow
layer alone cost about a third of that time). Image backgrounds are slower, about 1.6-1.8x
realtime there: every Ken Burns frame is new picture content, which costs x264 far more.

Visuals per beat (RenderSpec.visuals) replace the background: each beat's clip (a video, looped if
short, or an image with Ken Burns motion) is cut to its span on the voice's timeline, and neighbours
are joined by a short xfade centred on the boundary, so every cut lands between two spoken words.
Each beat's on-screen text is shown as a headline at the top while its beat plays.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from phantoms.resilience.errors import PermanentError

from .captions import CaptionStyle, ass_escape, ass_time, write_ass
from .ffmpeg import MediaInfo, has_filter, probe, run_ffmpeg
from .fonts import find_font
from .voice import audio_duration, estimate_word_timings

PROVIDER = "render"
DURATION_TOLERANCE = 0.2
BACKGROUND_TYPES = ("color", "gradient", "images")
DEFAULT_BACKGROUND = {"type": "gradient", "colors": ["#1e3c72", "#2a5298"]}
_COLOUR_RE = re.compile(r"^(?:(?:#|0x)?[0-9a-fA-F]{6}(?:[0-9a-fA-F]{2})?|[A-Za-z]{3,30})$")
# Ken Burns zoompan crops from an enlarged copy so its whole-pixel steps stay sub-pixel on output.
_KEN_BURNS_OVERSAMPLE = 2
_KEN_BURNS_ZOOM = 0.12
VISUAL_KINDS = ("video", "image")
# xfade transitions that suit a cut between beats; "auto" takes them in turn.
TRANSITIONS = ("fade", "smoothleft", "smoothup", "circleopen", "fadeblack", "wipeleft", "slideup", "dissolve",
               "radial", "zoomin")
AUTO_TRANSITIONS = ("fade", "smoothleft", "smoothup", "circleopen")
NO_TRANSITION = ("cut", "none")
HEADLINE_SIZE = 76


@dataclass
class RenderSpec:
    audio_path: str
    timings: list[dict] = field(default_factory=list)
    script: dict | None = None
    title: str | None = None
    width: int = 1080
    height: int = 1920
    fps: int = 30
    background: dict = field(default_factory=lambda: dict(DEFAULT_BACKGROUND))
    music_path: str | None = None
    music_volume: float = 0.15
    duck_music: bool = True
    preset: str = "veryfast"
    crf: int = 23
    audio_bitrate: str = "128k"
    captions: bool = True
    title_card: bool = True
    title_seconds: float = 1.5
    highlight: str = "word"
    max_words_per_line: int = 5
    font_path: str | None = None
    # None means "as long as the voice", which is what every normal render wants.
    duration: float | None = None
    # One visual per beat: {"path", "kind": "video"|"image", "start", "end"}; empty: `background`.
    visuals: list[dict] = field(default_factory=list)
    transition: str = "auto"
    transition_seconds: float = 0.4
    # Per-beat on-screen text: {"text", "start", "end"}, shown at the top (after the title card).
    headlines: list[dict] = field(default_factory=list)
    # Where the cover frame is taken, in seconds (None: no cover).
    cover_at: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RenderSpec:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    @classmethod
    def from_script(cls, script, voice, **overrides) -> RenderSpec:
        """Build from a Script model (or its dict) and a VoiceTrack."""
        script_dict = script.model_dump() if hasattr(script, "model_dump") else dict(script)
        return cls(audio_path=os.fspath(voice.path), timings=list(voice.timings),
                   script=script_dict, **overrides)

    def resolved_title(self) -> str | None:
        if self.title is not None:
            return self.title
        return (self.script or {}).get("title")

    def caption_lines(self) -> list[str] | None:
        return (self.script or {}).get("caption_lines") or None

    def narration_text(self) -> str:
        script = self.script or {}
        parts = [script.get("hook", "")] + [beat.get("narration", "") for beat in script.get("beats", [])]
        return " ".join(part for part in parts if part)


def video_encoder_args(*, preset: str = "veryfast", crf: int = 23, fps: int = 30) -> list[str]:
    """The H.264 settings every render uses; the benchmark encodes its baseline with these too."""
    return ["-c:v", "libx264", "-preset", preset, "-profile:v", "high", "-pix_fmt", "yuv420p",
            "-crf", str(crf), "-r", str(fps)]


def escape_filter_value(value: str) -> str:
    """Escape a string for use as a filter option value inside a -filter_complex graph.

    ffmpeg unescapes twice (once for the graph, once for the option list), so both levels apply.
    """
    for char in ("\\", "'", ":"):
        value = value.replace(char, "\\" + char)
    for char in ("\\", "'", "[", "]", ",", ";"):
        value = value.replace(char, "\\" + char)
    return value


def _colour(value: str) -> str:
    value = str(value).strip()
    if not _COLOUR_RE.match(value):
        raise PermanentError(f"invalid background colour {value!r}", provider=PROVIDER)
    return "0x" + value[1:] if value.startswith("#") else value


def _still(source: str) -> str:
    """Loop a single generated frame: later filters share it instead of regenerating it."""
    return f"{source},format=yuv420p,trim=end_frame=1,loop=loop=-1:size=1,setsar=1"


def _background(spec: RenderSpec, duration: float, first_input: int) -> tuple[list[str], str]:
    """Input arguments and a filter chain that ends in the [bg] pad."""
    if spec.visuals:
        return _visual_track(spec, duration, first_input)
    background = spec.background or DEFAULT_BACKGROUND
    kind = background.get("type", "gradient")
    if kind not in BACKGROUND_TYPES:
        raise PermanentError(f"unknown background type {kind!r}; expected one of {BACKGROUND_TYPES}",
                             provider=PROVIDER)
    size = f"{spec.width}x{spec.height}"
    colours = [_colour(c) for c in background.get("colors") or DEFAULT_BACKGROUND["colors"]]

    if kind == "images":
        images = [Path(p) for p in background.get("images") or []]
        if not images:
            raise PermanentError("an images background needs at least one image", provider=PROVIDER)
        missing = [os.fspath(p) for p in images if not p.is_file()]
        if missing:
            raise PermanentError(f"background images not found: {missing}", provider=PROVIDER)
        return _ken_burns(images, spec, duration, first_input)

    if kind == "color" or len(colours) == 1:
        frame = f"color=c={colours[0]}:s={size}:r={spec.fps}:d=1"
        return [], _still(frame) + "[bg]"

    if has_filter("gradients"):
        count = min(len(colours), 8)
        stops = ":".join(f"c{i}={c}" for i, c in enumerate(colours[:count]))
        frame = (f"gradients=s={size}:r={spec.fps}:d=1:n={count}:{stops}"
                 f":x0=0:y0=0:x1={spec.width}:y1={spec.height}:speed=0")
        return [], _still(frame) + "[bg]"
    return [], _two_colour_blend(colours[0], colours[1], spec)


def _two_colour_blend(top: str, bottom: str, spec: RenderSpec) -> str:
    size = f"{spec.width}x{spec.height}"
    return (f"color=c={top}:s={size}:r={spec.fps}:d=1,format=gbrp[bgtop];"
            f"color=c={bottom}:s={size}:r={spec.fps}:d=1,format=gbrp[bgbottom];"
            f"[bgtop][bgbottom]blend=all_expr='A*(1-Y/H)+B*(Y/H)',"
            + _still("null") + "[bg]")


def _ken_burns(images: list[Path], spec: RenderSpec, duration: float,
               first_input: int) -> tuple[list[str], str]:
    total_frames = max(1, round(duration * spec.fps))
    count = min(len(images), total_frames)
    images = images[:count]
    frames = [total_frames // count + (1 if i < total_frames % count else 0) for i in range(count)]
    big_w, big_h = spec.width * _KEN_BURNS_OVERSAMPLE, spec.height * _KEN_BURNS_OVERSAMPLE
    inputs: list[str] = []
    chains = []
    for index, (image, length) in enumerate(zip(images, frames, strict=True)):
        inputs += ["-i", os.fspath(image)]
        last = max(1, length - 1)
        if index % 2 == 0:
            zoom = f"1+{_KEN_BURNS_ZOOM}*on/{last}"
            x, y = "(iw-iw/zoom)/2", "(ih-ih/zoom)/2"
        else:
            # Alternate shots pan sideways while easing out, so consecutive images do not feel cloned.
            zoom = f"{1 + _KEN_BURNS_ZOOM}-{_KEN_BURNS_ZOOM}*on/{last}"
            x, y = f"(iw-iw/zoom)*on/{last}", "(ih-ih/zoom)/2"
        chains.append(
            f"[{first_input + index}:v]trim=end_frame=1,"
            f"scale={big_w}:{big_h}:force_original_aspect_ratio=increase,crop={big_w}:{big_h},"
            f"setsar=1,format=yuv420p,"
            f"zoompan=z='{zoom}':x='{x}':y='{y}':d={length}:s={spec.width}x{spec.height}:fps={spec.fps},"
            f"setsar=1[kb{index}]")
    joined = "".join(f"[kb{i}]" for i in range(count))
    chains.append(f"{joined}concat=n={count}:v=1:a=0,format=yuv420p[bg]")
    return inputs, ";".join(chains)


def _segments(spec: RenderSpec, duration: float) -> list[dict]:
    """The visuals in order, made to tile 0..duration exactly (a stored span may be a hair off)."""
    visuals = sorted((dict(v) for v in spec.visuals), key=lambda v: float(v.get("start", 0)))
    for visual in visuals:
        kind = visual.get("kind", "video")
        if kind not in VISUAL_KINDS:
            raise PermanentError(f"visual for beat {visual.get('beat', '?')}: unknown kind {kind!r}; "
                                 f"expected one of {VISUAL_KINDS}", provider=PROVIDER)
        if not Path(str(visual.get("path", ""))).is_file():
            raise PermanentError(f"visual for beat {visual.get('beat', '?')}: file {visual.get('path')!r} not found",
                                 provider=PROVIDER)
    visuals = [v for v in visuals if float(v.get("start", 0)) < duration] or visuals[:1]
    for index, visual in enumerate(visuals):
        visual["start"] = 0.0 if index == 0 else min(duration, max(float(visual["start"]), visuals[index - 1]["start"]))
    for index, visual in enumerate(visuals):
        visual["end"] = duration if index == len(visuals) - 1 else visuals[index + 1]["start"]
    return [v for v in visuals if v["end"] - v["start"] > 1e-3] or visuals[-1:]


def _transition_names(spec: RenderSpec, count: int) -> list[str]:
    name = (spec.transition or "auto").strip().lower()
    if name == "auto":
        return [AUTO_TRANSITIONS[i % len(AUTO_TRANSITIONS)] for i in range(count)]
    if name in NO_TRANSITION:
        return []
    if name not in TRANSITIONS:
        raise PermanentError(f"RENDER_TRANSITION: unknown transition {spec.transition!r}; choose auto, cut or one of "
                             f"{', '.join(TRANSITIONS)}", provider=PROVIDER)
    return [name] * count


def _fit(spec: RenderSpec) -> str:
    return (f"scale={spec.width}:{spec.height}:force_original_aspect_ratio=increase:flags=bicubic,"
            f"crop={spec.width}:{spec.height},setsar=1")


def _image_motion(spec: RenderSpec, frames: int, variant: int) -> str:
    """Ken Burns over one image for `frames` frames; alternate beats zoom in or pan while easing out."""
    big_w, big_h = spec.width * _KEN_BURNS_OVERSAMPLE, spec.height * _KEN_BURNS_OVERSAMPLE
    last = max(1, frames - 1)
    if variant % 2 == 0:
        zoom = f"1+{_KEN_BURNS_ZOOM}*on/{last}"
        x, y = "(iw-iw/zoom)/2", "(ih-ih/zoom)/2"
    else:
        zoom = f"{1 + _KEN_BURNS_ZOOM}-{_KEN_BURNS_ZOOM}*on/{last}"
        x, y = f"(iw-iw/zoom)*on/{last}", "(ih-ih/zoom)/2"
    return (f"trim=end_frame=1,scale={big_w}:{big_h}:force_original_aspect_ratio=increase,crop={big_w}:{big_h},"
            f"setsar=1,format=yuv420p,"
            f"zoompan=z='{zoom}':x='{x}':y='{y}':d={frames}:s={spec.width}x{spec.height}:fps={spec.fps},setsar=1")


def _visual_track(spec: RenderSpec, duration: float, first_input: int) -> tuple[list[str], str]:
    """Each beat's clip cut to its span, joined by transitions centred on the beat boundaries.

    With a transition of T seconds, a clip runs T/2 past each inner boundary; xfade's offset for the
    k-th join is then boundary_k - T/2, and the joined track is exactly `duration` long.
    """
    segments = _segments(spec, duration)
    names = _transition_names(spec, len(segments) - 1)
    shortest = min(v["end"] - v["start"] for v in segments)
    fade = min(max(0.0, float(spec.transition_seconds)), shortest / 2) if names else 0.0
    if fade < 1.0 / spec.fps:
        fade, names = 0.0, []
    inputs: list[str] = []
    chains = []
    for index, visual in enumerate(segments):
        length = visual["end"] - visual["start"]
        length += (fade / 2 if index > 0 else 0) + (fade / 2 if index < len(segments) - 1 else 0)
        frames = max(1, round(length * spec.fps))
        source = f"[{first_input + index}:v]"
        if visual.get("kind", "video") == "image":
            inputs += ["-i", os.fspath(visual["path"])]
            chain = _image_motion(spec, frames, index)
        else:
            # A clip shorter than its beat loops rather than freezing on its last frame.
            inputs += ["-stream_loop", "-1", "-t", f"{length + 0.5:.3f}", "-i", os.fspath(visual["path"])]
            chain = f"{_fit(spec)},fps={spec.fps}"
        chains.append(f"{source}{chain},format=yuv420p,trim=end_frame={frames},setpts=PTS-STARTPTS,"
                      f"settb=1/{spec.fps}[seg{index}]")
    if len(segments) == 1:
        chains.append("[seg0]null[bg]")
    elif not names:
        joined = "".join(f"[seg{i}]" for i in range(len(segments)))
        chains.append(f"{joined}concat=n={len(segments)}:v=1:a=0[bg]")
    else:
        chains += _joined_with_transitions(segments, names, fade, spec.fps)
    return inputs, ";".join(chains)


def _joined_with_transitions(segments: list[dict], names: list[str], fade: float, fps: int) -> list[str]:
    """Cut each clip into head, body and tail; blend tail and next head with xfade; concat everything.

    xfade handles every frame that passes through it, so it is only given the frames of the
    transition itself: chaining it over whole clips cost about as much CPU as encoding them.
    """
    fade_frames = max(1, round(fade * fps))
    chains, pieces = [], []
    last = len(segments) - 1
    for index, visual in enumerate(segments):
        length = visual["end"] - visual["start"] + (fade / 2 if index > 0 else 0) + (fade / 2 if index < last else 0)
        frames = max(1, round(length * fps))
        parts = ["body"] + (["head"] if index > 0 else []) + (["tail"] if index < last else [])
        outputs = "".join(f"[{part}{index}in]" for part in parts)
        chains.append(f"[seg{index}]split={len(parts)}{outputs}")
        body_start = fade_frames if index > 0 else 0
        body_end = frames - (fade_frames if index < last else 0)
        chains.append(f"[body{index}in]trim=start_frame={body_start}:end_frame={body_end},setpts=PTS-STARTPTS"
                      f"[body{index}]")
        if index > 0:
            chains.append(f"[head{index}in]trim=end_frame={fade_frames},setpts=PTS-STARTPTS[head{index}]")
            chains.append(f"[tail{index - 1}][head{index}]xfade=transition={names[index - 1]}:"
                          f"duration={fade_frames / fps:.4f}:offset=0[join{index}]")
            pieces.append(f"[join{index}]")
        if index < last:
            chains.append(f"[tail{index}in]trim=start_frame={frames - fade_frames}:end_frame={frames},"
                          f"setpts=PTS-STARTPTS[tail{index}]")
        pieces.append(f"[body{index}]")
    chains.append(f"{''.join(pieces)}concat=n={len(pieces)}:v=1:a=0[bg]")
    return chains


def headline_events(spec: RenderSpec, duration: float) -> list[str]:
    """ASS events for each beat's on-screen text, in the title's place once the title card is gone."""
    events = []
    title_end = spec.title_seconds if spec.title_card and spec.resolved_title() else 0.0
    scale = spec.height / 1920
    size = round(HEADLINE_SIZE * scale)
    for headline in spec.headlines:
        text = " ".join(str(headline.get("text") or "").split())
        start = max(float(headline.get("start", 0)), title_end)
        end = min(float(headline.get("end", duration)), duration)
        if not text or end - start < 0.3:
            continue
        events.append(f"Dialogue: 1,{ass_time(start)},{ass_time(end)},Title,,0,0,0,,"
                      f"{{\\fs{size}\\fad(150,150)}}{ass_escape(text)}")
    return events


def _audio_chain(spec: RenderSpec, duration: float, voice_input: int,
                 music_input: int | None) -> str:
    voice = f"[{voice_input}:a]aformat=sample_rates=48000:channel_layouts=stereo,apad"
    if music_input is None:
        return voice + "[aout]"
    fade_start = max(0.0, duration - 1.0)
    music = (f"[{music_input}:a]aformat=sample_rates=48000:channel_layouts=stereo,"
             f"volume={spec.music_volume:.3f},afade=t=out:st={fade_start:.3f}:d=1")
    if spec.duck_music:
        return (f"{voice},asplit=2[voice][key];{music}[music];"
                f"[music][key]sidechaincompress=threshold=0.02:ratio=8:attack=20:release=400[bed];"
                f"[voice][bed]amix=inputs=2:duration=first:dropout_transition=0:normalize=0[aout]")
    return (f"{voice}[voice];{music}[bed];"
            f"[voice][bed]amix=inputs=2:duration=first:dropout_transition=0:normalize=0[aout]")


def build_command(spec: RenderSpec, out_path: Path, *, ass_path: Path | None, fonts_dir: Path | None,
                  duration: float) -> list[str]:
    """ffmpeg arguments (without the binary) for `spec`; exposed so the graph can be inspected."""
    args: list[str] = ["-y", "-i", spec.audio_path]
    next_input = 1
    music_input = None
    if spec.music_path:
        args += ["-stream_loop", "-1", "-i", spec.music_path]
        music_input = next_input
        next_input += 1
    bg_inputs, graph = _background(spec, duration, next_input)
    args += bg_inputs

    video = "[bg]"
    if ass_path is not None:
        options = f"filename={escape_filter_value(os.fspath(ass_path))}"
        if fonts_dir is not None:
            options += f":fontsdir={escape_filter_value(os.fspath(fonts_dir))}"
        graph += f";[bg]ass={options}[vout]"
        video = "[vout]"
    graph += ";" + _audio_chain(spec, duration, 0, music_input)

    args += ["-filter_complex", graph, "-map", video, "-map", "[aout]", "-t", f"{duration:.3f}",
             *video_encoder_args(preset=spec.preset, crf=spec.crf, fps=spec.fps),
             "-c:a", "aac", "-b:a", spec.audio_bitrate, "-ar", "48000",
             "-movflags", "+faststart", "-f", "mp4", os.fspath(out_path)]
    return args


def render_video(spec: RenderSpec, out_path: str | os.PathLike, *,
                 progress: Callable[[float], None] | None = None, timeout: float = 600) -> MediaInfo:
    """Render `spec` to an MP4 at `out_path` and return what the written file probes as.

    The file appears at `out_path` only once complete. Its duration is the voice's (or
    spec.duration), and a result off by more than DURATION_TOLERANCE is an error, not a video.
    """
    out_path = Path(out_path)
    audio = Path(spec.audio_path)
    if not audio.is_file():
        raise PermanentError(f"voice track {audio} not found", provider=PROVIDER)
    if spec.music_path and not Path(spec.music_path).is_file():
        raise PermanentError(f"music bed {spec.music_path} not found", provider=PROVIDER)
    if spec.width % 2 or spec.height % 2:
        raise PermanentError("width and height must be even for yuv420p", provider=PROVIDER)
    duration = float(spec.duration) if spec.duration else audio_duration(audio)
    if duration <= 0:
        raise PermanentError(f"voice track {audio} has no duration", provider=PROVIDER)

    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(out_path.stem + ".partial" + out_path.suffix)
    with tempfile.TemporaryDirectory(prefix="render-") as workdir:
        ass_path = fonts_dir = None
        if spec.captions or spec.title_card:
            font = find_font(spec.font_path)
            fonts_dir = font.directory
            timings = spec.timings
            if not timings and spec.narration_text():
                timings = estimate_word_timings(spec.narration_text(), duration)
            style = CaptionStyle(font_family=font.family)
            ass_path = write_ass(
                Path(workdir) / "captions.ass",
                timings if spec.captions else [],
                width=spec.width, height=spec.height,
                caption_lines=spec.caption_lines(),
                title=spec.resolved_title() if spec.title_card else None,
                title_seconds=spec.title_seconds, duration=duration,
                max_words=spec.max_words_per_line, highlight=spec.highlight,
                style=style,
            )
            headlines = headline_events(spec, duration) if spec.captions else []
            if headlines:
                # The events section comes last in the document, so more events simply follow.
                with open(ass_path, "a", encoding="utf-8") as handle:
                    handle.write("\n".join(headlines) + "\n")
        args = build_command(spec, partial, ass_path=ass_path, fonts_dir=fonts_dir, duration=duration)
        try:
            run_ffmpeg(args, timeout=timeout, progress=progress, duration=duration)
            info = probe(partial)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    if abs(info.duration - duration) > DURATION_TOLERANCE:
        partial.unlink(missing_ok=True)
        raise PermanentError(f"rendered {info.duration:.2f} s but the voice is {duration:.2f} s",
                             provider=PROVIDER)
    os.replace(partial, out_path)
    return info
