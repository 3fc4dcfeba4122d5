"""Render speed benchmark: a captioned, voiced render against plain ffmpeg on the same machine.

Targets: the full render runs at >= 2x realtime and takes <= 1.5x the wall time of ffmpeg
encoding the same length of solid colour with the same encoder settings. Both are measured in
the same run, alternating, and the fastest run of each is compared (as timeit does), because
other processes on a small shared machine only ever add time.

    .venv/bin/python -m bench.render_bench [seconds]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.media.ffmpeg import probe, run_ffmpeg  # noqa: E402
from pipeline.media.render import RenderSpec, render_video, video_encoder_args  # noqa: E402
from pipeline.media.voice import synthesize_offline  # noqa: E402
from pipeline.script_format import compose_template_script  # noqa: E402

TARGET_REALTIME = 2.0
TARGET_RATIO = 1.5
BRIEF = "Why octopuses have three hearts, blue blood and a brain in every arm"


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run_render_bench(seconds: float = 30, *, repeats: int = 3) -> dict:
    spec_defaults = RenderSpec(audio_path="")
    with tempfile.TemporaryDirectory(prefix="render-bench-") as workdir:
        work = Path(workdir)
        script = compose_template_script(BRIEF, target_duration_seconds=max(5, min(180, round(seconds))))
        text = script.narration_text()
        # Speak the script's words over exactly `seconds`, so captions change at a natural pace.
        voice = synthesize_offline(text, work / "voice.wav", engine="silence",
                                   words_per_second=len(text.split()) / seconds)
        spec = RenderSpec.from_script(script, voice)
        plain_args = ["-y", "-f", "lavfi", "-i",
                      f"color=c=0x202040:s={spec.width}x{spec.height}:r={spec.fps}",
                      "-t", f"{voice.duration:.3f}",
                      *video_encoder_args(preset=spec_defaults.preset, crf=spec_defaults.crf,
                                          fps=spec_defaults.fps),
                      "-movflags", "+faststart", str(work / "plain.mp4")]

        render_runs, plain_runs = [], []
        for _ in range(max(1, repeats)):
            plain_runs.append(_timed(lambda: run_ffmpeg(plain_args, timeout=600)))
            render_runs.append(_timed(lambda: render_video(spec, work / "render.mp4", timeout=600)))
        info = probe(work / "render.mp4")

    render_seconds, plain_seconds = min(render_runs), min(plain_runs)
    return {
        "video_seconds": round(voice.duration, 3),
        "render_seconds": round(render_seconds, 3),
        "plain_seconds": round(plain_seconds, 3),
        "realtime_factor": round(voice.duration / render_seconds, 3),
        "ratio_to_plain": round(render_seconds / plain_seconds, 3),
        "render_runs": [round(t, 3) for t in render_runs],
        "plain_runs": [round(t, 3) for t in plain_runs],
        "output": info.to_dict(),
        "preset": spec.preset,
    }


def format_result(result: dict) -> str:
    return (f"render: {result['video_seconds']:.1f} s video in {result['render_seconds']:.1f} s "
            f"({result['realtime_factor']:.1f}x realtime), plain ffmpeg {result['plain_seconds']:.1f} s, "
            f"ratio {result['ratio_to_plain']:.2f} "
            f"(target >= {TARGET_REALTIME:g}x realtime, <= {TARGET_RATIO:g}x plain)")


def main(argv: list[str]) -> int:
    seconds = float(argv[1]) if len(argv) > 1 else 30.0
    result = run_render_bench(seconds)
    print(format_result(result))
    met = result["realtime_factor"] >= TARGET_REALTIME and result["ratio_to_plain"] <= TARGET_RATIO
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
