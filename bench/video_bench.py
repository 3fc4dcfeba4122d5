"""How long one video takes to make, brief to review, with the providers a fresh machine has.

A brief is submitted and each stage runs in this process through the real runner (claims,
attempts, transitions; the queue hops between stages are left out, they cost milliseconds): the
offline script writer, the offline voice, offline motion visuals and the ffmpeg render. Prints the
time each stage took, the total, and what came out; then times plain ffmpeg making the same video
from the same clips and voice (bench.render_bench.plain_args: joined end to end, scaled, encoded
with the same settings; the faster of two runs). Target: brief to review <= 1.5x that. The
temporary folder is removed; `--strict` exits non-zero when the target is missed.

    .venv/bin/python -m bench.video_bench [--seconds 30] [--visuals offline] [--strict]
"""

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STAGES_IN_ORDER = ("script", "voice", "visuals", "render")
TARGET_RATIO = 1.5


def configure(var_dir: str) -> None:
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "phantoms.settings",
        "PHANTOMS_VAR_DIR": var_dir,
        "MEDIA_ROOT": str(Path(var_dir) / "media"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
    })
    if "DATABASE_URL" not in os.environ:
        os.environ["DATABASE_URL"] = f"sqlite:///{Path(var_dir) / 'bench.sqlite3'}"
    import django

    django.setup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30, help="the brief's target duration")
    parser.add_argument("--visuals", default="offline", help="visuals provider (offline, plain, pexels, openai)")
    parser.add_argument("--brief", default="Three habits that make mornings easier")
    parser.add_argument("--strict", action="store_true", help="exit non-zero when the target is missed")
    args = parser.parse_args()
    # A timeout or Ctrl-C still removes the temporary folder (finally blocks run on SystemExit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    var_dir = tempfile.mkdtemp(prefix="phantoms-video-bench-")
    try:
        configure(var_dir)
        return run(args)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def run(args) -> int:
    from django.core.management import call_command

    from phantoms.engine import runner
    from pipeline.media.ffmpeg import probe
    from pipeline.models import Asset
    from pipeline.services.briefs import submit_brief
    from pipeline.stages import STAGES

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    asset, _ = submit_brief(brief=args.brief, target_duration_seconds=args.seconds,
                            providers={"visuals": args.visuals})
    timings = {}
    for stage in STAGES_IN_ORDER:
        began = time.perf_counter()
        outcome = runner.run(STAGES[stage], asset.pk)
        timings[stage] = time.perf_counter() - began
        if outcome != "succeeded":
            print(f"{stage}: {outcome}: {Asset.objects.get(pk=asset.pk).last_error}")
            return 1
    total = time.perf_counter() - started
    asset.refresh_from_db()
    info = probe(asset.video.path)
    stages = ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in timings.items())
    print(f"brief → {asset.state}: {total:.1f} s for a {info.duration:.1f} s video "
          f"(target {args.seconds} s; voice {asset.voice_provider}; {len(asset.visuals)} beats of "
          f"{asset.visuals_provider} visuals): {stages}")
    plain = plain_ffmpeg_seconds(asset)
    ratio = total / plain
    met = asset.state == Asset.State.AWAITING_REVIEW and ratio <= TARGET_RATIO
    print(f"end to end: brief → {asset.state} {total:.1f} s, plain ffmpeg making the same video {plain:.1f} s: "
          f"{ratio:.2f}x (target <= {TARGET_RATIO:g}x): {'met' if met else 'NOT MET'}; "
          f"load average {os.getloadavg()[0]:.2f}")
    return 1 if args.strict and not met else 0


def plain_ffmpeg_seconds(asset) -> float:
    """The least ffmpeg work for the same pictures and voice (bench.render_bench.plain_args); the faster of two."""
    from bench.render_bench import plain_args
    from pipeline.media.ffmpeg import run_ffmpeg
    from pipeline.media.render import RenderSpec

    spec = RenderSpec.from_dict(asset.render_spec)
    out = Path(asset.video.path).with_name("plain.mp4")
    args = plain_args(spec, spec.visuals, float(asset.audio_duration), out)
    runs = []
    for _ in range(2):
        began = time.perf_counter()
        run_ffmpeg(args, timeout=900)
        runs.append(time.perf_counter() - began)
    out.unlink(missing_ok=True)
    return min(runs)


if __name__ == "__main__":
    sys.exit(main())
