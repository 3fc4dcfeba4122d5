"""Render speed benchmark: the video Phantoms makes, against plain ffmpeg making the same pictures.

The render is what the render stage runs for a real asset: a generated motion background per beat
(made beforehand, as the visuals stage does), cut to the beats' spans with transitions, word-by-word
captions, a headline per beat, the title card, the voice and a music bed ducked under it, encoded to
1080x1920 H.264. Plain ffmpeg is the least any tool would do with the same inputs: the same clips
joined end to end, scaled to 1080x1920, with the voice, encoded with the same settings. The
difference is what Phantoms's transitions, captions, headlines and mixing cost.

Targets: the render runs at >= 2x realtime and takes <= 1.5x the wall time of plain ffmpeg. Both are
measured in the same run, alternating, and the fastest run of each is compared (as timeit does),
because other processes on a small shared machine only ever add time. A solid colour encoded with
the same settings is timed too, for reference: it is what the render cost before visuals.

    .venv/bin/python -m bench.render_bench [seconds] [--strict]
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phantoms.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from pipeline.media.ffmpeg import probe, run_ffmpeg  # noqa: E402
from pipeline.media.motion import make_motion_clip, plan_for_beat  # noqa: E402
from pipeline.media.render import RenderSpec, render_video, video_encoder_args  # noqa: E402
from pipeline.media.timeline import beat_spans  # noqa: E402
from pipeline.media.voice import synthesize_offline  # noqa: E402
from pipeline.script_format import Beat, Script  # noqa: E402

TARGET_REALTIME = 2.0
TARGET_RATIO = 1.5
TOPICS = ["octopus hearts", "blue blood", "a brain per arm", "camouflage", "short lives", "ink clouds",
          "eight arms", "deep sea"]


def bench_script(seconds: float, words_per_second: float = 2.6) -> Script:
    """A script with as many words as `seconds` of speech, one beat per ~7 seconds."""
    count = max(3, round(seconds / 7))
    per_beat = max(4, round(seconds * words_per_second / count))
    filler = "is stranger than it sounds and the reason goes back millions of years of evolution in the sea".split()
    beats = [Beat(on_screen=f"{i + 1}. {TOPICS[i % len(TOPICS)].title()}",
                  narration=" ".join([TOPICS[i % len(TOPICS)], *filler * 3][:per_beat]) + ".",
                  visual_query=TOPICS[i % len(TOPICS)]) for i in range(count)]
    return Script(title="Why octopuses are so strange", hook="Octopuses are aliens.", beats=beats,
                  caption_lines=["Octopuses are aliens."], description="", hashtags=[],
                  target_duration_seconds=max(5, min(180, round(seconds))))


def _timed(fn) -> tuple[float, float]:
    """Wall seconds, and CPU seconds of the ffmpeg it ran (what the machine had to do, load or not)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    fn()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return time.perf_counter() - started, cpu


def plain_args(spec: RenderSpec, visuals: list[dict], duration: float, out: Path) -> list[str]:
    """The same clips end to end, scaled, with the voice: the least ffmpeg work for the same pictures."""
    args = ["-y"]
    for visual in visuals:
        args += ["-t", f"{visual['end'] - visual['start']:.3f}", "-i", visual["path"]]
    args += ["-i", spec.audio_path]
    scaled = "".join(f"[{i}:v]scale={spec.width}:{spec.height},setsar=1,fps={spec.fps}[v{i}];"
                     for i in range(len(visuals)))
    joined = "".join(f"[v{i}]" for i in range(len(visuals)))
    graph = f"{scaled}{joined}concat=n={len(visuals)}:v=1:a=0[v]"
    return [*args, "-filter_complex", graph, "-map", "[v]", "-map", f"{len(visuals)}:a", "-t", f"{duration:.3f}",
            *video_encoder_args(preset=spec.preset, crf=spec.crf, fps=spec.fps),
            "-c:a", "aac", "-b:a", spec.audio_bitrate, "-movflags", "+faststart", str(out)]


def run_render_bench(seconds: float = 30, *, repeats: int = 3, preset: str | None = None) -> dict:
    preset = preset or settings.RENDER_PRESET
    with tempfile.TemporaryDirectory(prefix="render-bench-") as workdir:
        work = Path(workdir)
        script = bench_script(seconds)
        text = script.narration_text()
        voice = synthesize_offline(text, work / "voice.wav", engine="silence",
                                   words_per_second=len(text.split()) / seconds)
        script_dict = script.model_dump()
        spans = beat_spans(script_dict, voice.timings, voice.duration)
        made = time.perf_counter()
        visuals = []
        for span in spans:
            path = make_motion_clip(work / f"beat-{span.index}.mp4", plan_for_beat("dusk", span.index, "bench"),
                                    span.duration + settings.RENDER_TRANSITION_SECONDS + 0.25,
                                    size=settings.VISUALS_OFFLINE_SIZE)
            visuals.append({"beat": span.index, "kind": "video", "path": str(path), "start": span.start,
                            "end": span.end})
        visuals_seconds = time.perf_counter() - made
        run_ffmpeg(["-y", "-f", "lavfi", "-i", f"sine=f=196:d={voice.duration:.3f}", "-af", "volume=0.5",
                    str(work / "music.wav")], timeout=120)
        spec = RenderSpec.from_script(
            script, voice, visuals=visuals, preset=preset, transition="auto",
            transition_seconds=settings.RENDER_TRANSITION_SECONDS, music_path=str(work / "music.wav"),
            headlines=[{"text": b.on_screen, "start": s.start, "end": s.end} for b, s in zip(script.beats, spans,
                                                                                              strict=True)])
        plain = plain_args(spec, visuals, voice.duration, work / "plain.mp4")
        colour = ["-y", "-f", "lavfi", "-i", f"color=c=0x202040:s={spec.width}x{spec.height}:r={spec.fps}",
                  "-t", f"{voice.duration:.3f}", *video_encoder_args(preset=preset, crf=spec.crf, fps=spec.fps),
                  "-movflags", "+faststart", str(work / "colour.mp4")]

        render_runs, plain_runs, colour_runs = [], [], []
        for _ in range(max(1, repeats)):
            plain_runs.append(_timed(lambda: run_ffmpeg(plain, timeout=900)))
            render_runs.append(_timed(lambda: render_video(spec, work / "render.mp4", timeout=900)))
            colour_runs.append(_timed(lambda: run_ffmpeg(colour, timeout=900)))
        info = probe(work / "render.mp4")

    render_seconds, plain_seconds = min(render_runs)[0], min(plain_runs)[0]
    colour_seconds = min(colour_runs)[0]
    return {
        "video_seconds": round(voice.duration, 3),
        "beats": len(visuals),
        "visuals_seconds": round(visuals_seconds, 3),
        "render_seconds": round(render_seconds, 3),
        "plain_seconds": round(plain_seconds, 3),
        "colour_seconds": round(colour_seconds, 3),
        "render_cpu_seconds": round(min(cpu for _, cpu in render_runs), 3),
        "plain_cpu_seconds": round(min(cpu for _, cpu in plain_runs), 3),
        "cpu_ratio_to_plain": round(min(cpu for _, cpu in render_runs) / min(cpu for _, cpu in plain_runs), 3),
        "cores": os.cpu_count(),
        "realtime_factor": round(voice.duration / render_seconds, 3),
        "ratio_to_plain": round(render_seconds / plain_seconds, 3),
        "render_runs": [round(t, 3) for t, _ in render_runs],
        "plain_runs": [round(t, 3) for t, _ in plain_runs],
        "output": info.to_dict(),
        "preset": preset,
    }


def format_result(result: dict) -> str:
    return (f"render: {result['video_seconds']:.1f} s video, {result['beats']} beats, in "
            f"{result['render_seconds']:.1f} s ({result['realtime_factor']:.1f}x realtime), plain ffmpeg "
            f"{result['plain_seconds']:.1f} s, ratio {result['ratio_to_plain']:.2f} "
            f"(target >= {TARGET_REALTIME:g}x realtime, <= {TARGET_RATIO:g}x plain; preset {result['preset']}); "
            f"CPU: render {result['render_cpu_seconds']:.1f} s, plain {result['plain_cpu_seconds']:.1f} s "
            f"(ratio {result['cpu_ratio_to_plain']:.2f}; {result['cores']} cores); "
            f"for reference: solid colour {result['colour_seconds']:.1f} s, making the beats' motion "
            f"backgrounds {result['visuals_seconds']:.1f} s")


def main(argv: list[str]) -> int:
    """`[seconds] [--strict]`: a missed target is reported; only --strict makes it the exit status."""
    strict = "--strict" in argv
    numbers = [arg for arg in argv[1:] if not arg.startswith("--")]
    seconds = float(numbers[0]) if numbers else 30.0
    result = run_render_bench(seconds)
    print(format_result(result))
    met = result["realtime_factor"] >= TARGET_REALTIME and result["ratio_to_plain"] <= TARGET_RATIO
    print(f"render {result['ratio_to_plain']:.2f}x plain ffmpeg, {result['realtime_factor']:.1f}x realtime "
          f"(targets <= {TARGET_RATIO:g}x, >= {TARGET_REALTIME:g}x): {'met' if met else 'NOT MET'}; "
          f"load average {os.getloadavg()[0]:.2f}")
    return 1 if strict and not met else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
