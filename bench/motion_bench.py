"""What each offline motion style costs to draw: wall and CPU seconds per style, one clip each.

For every style (pipeline.media.motion.STYLES) it times the lavfi graph alone (`-f null`: the
filters) and the whole clip as make_motion_clip writes it (the filters plus x264). CPU is the
ffmpeg child's user + system time, which a busy machine inflates less than wall time. Short runs:
one 10 s clip per style and mode by default.

    .venv/bin/python -m bench.motion_bench [--seconds 10] [--size 360x640] [--styles aurora,cone]
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), children_cpu()
    fn()
    return time.perf_counter() - wall, children_cpu() - cpu


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phantoms.settings")
    import django

    django.setup()
    from pipeline.media.ffmpeg import ffmpeg_exe
    from pipeline.media.motion import STYLES, THEMES, MotionPlan, _size, make_motion_clip, source_graph

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="360x640")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--styles", default=",".join(STYLES))
    args = parser.parse_args()
    width, height = _size(args.size)
    print(f"{args.seconds:g} s at {args.size}, {args.fps} fps; wall / cpu seconds")
    print(f"{'style':8} {'filters wall':>12} {'cpu':>6} {'clip wall':>10} {'cpu':>6}")
    totals = [0.0, 0.0, 0.0, 0.0]
    with tempfile.TemporaryDirectory(prefix="motion-bench-") as workdir:
        for style in args.styles.split(","):
            plan = MotionPlan(style=style, palette=THEMES["dusk"], seed=42)
            graph = source_graph(plan, width=width, height=height, fps=args.fps)
            null = timed(lambda graph=graph: subprocess.run(
                [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", graph,
                 "-t", f"{args.seconds:.3f}", "-f", "null", "-"], check=True))
            clip = timed(lambda plan=plan, style=style: make_motion_clip(
                Path(workdir) / f"{style}.mp4", plan, args.seconds, size=args.size, fps=args.fps))
            for index, value in enumerate((*null, *clip)):
                totals[index] += value
            print(f"{style:8} {null[0]:12.2f} {null[1]:6.2f} {clip[0]:10.2f} {clip[1]:6.2f}", flush=True)
    print(f"{'total':8} {totals[0]:12.2f} {totals[1]:6.2f} {totals[2]:10.2f} {totals[3]:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
