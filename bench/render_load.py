"""P3': remote renders noticed without the webhook, one alone and many in flight, through the sandbox render service.

    DATABASE_URL=postgres://... .venv/bin/python -m bench.render_load [--renders 400] [--seconds 20] [--workers 2]

The sandbox render service (waitress, its own process) takes `--seconds` per render, simulated
(SANDBOX_RENDER_SECONDS: no encoding), so the shape measured is Phantoms's, not ffmpeg's. Its
callbacks go to an address nobody listens on: every webhook is lost and only polling finds a render
finished. `--workers` real worker processes (phantoms.worker.Worker with their schedulers) run the
render stage. Assets wait in `rendering` with a voice track; the render stage submits, polls and
downloads each.

Measured: one render alone after a warm-up render (which also teaches the workers the service's
speed), then `--renders` at once. For each render, "noticed late" is the time from the service
finishing it to the poll that saw it done (`render_spec["remote"]["seen_done_at"]`), over the time
the service took; and the batch's wall time (first enqueue to the last asset awaiting review, so
downloads, probes and commits included) over the single render's. Targets: noticed <= 10% late, the
batch <= 1.2x one render.
"""

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from bench.workspace import workspace

ROOT = Path(__file__).resolve().parent.parent
TARGET_LATE = 0.10
TARGET_BATCH = 1.2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def configure(port: int, seconds: float, lost_callbacks: str) -> dict:
    """Settings for the run; the folder and database come from bench.workspace."""
    env = {
        "DJANGO_SETTINGS_MODULE": "phantoms.settings",
        "PHANTOMS_SANDBOX": "1",
        "PHANTOMS_SANDBOX_URL": f"http://127.0.0.1:{port}",
        "SANDBOX_RENDER_SECONDS": str(seconds),
        "RENDER_PROVIDER": "remote",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        "RQ_LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    import django

    django.setup()
    # Workers hand the service a callback URL at a closed port: every webhook is lost.
    return {**os.environ, "PHANTOMS_PUBLIC_URL": lost_callbacks}


def make_assets(count: int, seconds: float) -> list[int]:
    from django.conf import settings

    from pipeline.media.voice import estimate_word_timings, write_silence
    from pipeline.models import Asset
    from pipeline.script_format import compose_template_script

    folder = Path(settings.MEDIA_ROOT) / "assets" / "render-load"
    folder.mkdir(parents=True, exist_ok=True)
    voice = folder / "voice.wav"
    if not voice.exists():
        write_silence(voice, seconds)
    script = compose_template_script("Why the sea is salty", target_duration_seconds=max(5, round(seconds)))
    timings = estimate_word_timings(script.narration_text(), seconds)
    made = Asset.objects.bulk_create([
        Asset(brief=f"render load {n}", title=script.title, script=script.model_dump(), state=Asset.State.RENDERING,
              audio=str(voice.relative_to(settings.MEDIA_ROOT)), audio_duration=seconds, word_timings=timings,
              providers={"render": "remote"}, target_duration_seconds=max(5, round(seconds)))
        for n in range(count)])
    return [asset.pk for asset in made]


def run_batch(pks: list[int], timeout: float) -> tuple[float, list[float], int]:
    """Enqueue the render stage for every asset; wait for all; the wall time and each render's lateness."""
    from django.db import close_old_connections

    from phantoms.engine.models import TransitionLog
    from phantoms.engine.queueing import enqueue
    from pipeline.models import Asset
    from pipeline.stages import STAGES
    from sandbox.models import SandboxRender

    started = time.time()
    for pk in pks:
        enqueue(STAGES["render"], pk)
    deadline = time.monotonic() + timeout
    while Asset.objects.filter(pk__in=pks, state=Asset.State.RENDERING).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"renders not done in {timeout:.0f} s: "
                             f"{Asset.objects.filter(pk__in=pks, state=Asset.State.RENDERING).count()} left")
        time.sleep(0.1)
        close_old_connections()
    done_at = dict(TransitionLog.objects.filter(asset__in=pks, to_state=Asset.State.AWAITING_REVIEW)
                   .values_list("asset_id", "at"))
    failed = Asset.objects.filter(pk__in=pks, state=Asset.State.FAILED).count()
    rows = Asset.objects.filter(pk__in=pks).values_list("render_remote_id", "render_spec")
    seen = {render_id: (spec or {}).get("remote", {}).get("seen_done_at") for render_id, spec in rows}
    late = []
    for render in SandboxRender.objects.filter(render_id__in=list(seen)):
        if not seen.get(render.render_id):
            continue
        took = (render.updated_at - render.created_at).total_seconds()
        late.append((datetime.fromisoformat(seen[render.render_id]) - render.updated_at).total_seconds() / took)
    wall = max(done_at.values()).timestamp() - started
    return wall, late, failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=20.0, help="the render service's time per render")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--strict", action="store_true", help="exit non-zero when a target is missed")
    parser.add_argument("--logs", default="", help="a folder for the workers' logs (default: none kept)")
    args = parser.parse_args()
    # A timeout or Ctrl-C still removes the temporary folder and database (finally blocks run on SystemExit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with workspace("phantoms-render-load-"):
        run(args)


def run(args) -> None:
    port = free_port()
    env = configure(port, args.seconds, f"http://127.0.0.1:{free_port()}")
    processes = []
    try:
        from django.conf import settings
        from django.core.management import call_command

        from phantoms.redis import get_redis

        call_command("migrate", verbosity=0)
        get_redis().flushdb()
        server_env = {**os.environ, "REDIS_URL": settings.REDIS_URL}
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "waitress", "--listen", f"127.0.0.1:{port}", "--threads", "8",
             "phantoms.wsgi:application"], env=server_env, cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True))
        import httpx

        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        worker_env = {**env, "REDIS_URL": settings.REDIS_URL}
        logs = Path(args.logs) if args.logs else None
        for number in range(args.workers):
            log = open(logs / f"worker-{number}.log", "wb") if logs else subprocess.DEVNULL  # noqa: SIM115
            processes.append(subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), "rqworker", "render", "--worker-class",
                 "phantoms.worker.Worker", "--with-scheduler"], env=worker_env, cwd=ROOT,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        print(f"render load: {database}, sandbox render service at {args.seconds:g} s per render (simulated), "
              f"webhooks lost, {args.workers} workers, load average {os.getloadavg()[0]:.2f}")
        run_batch(make_assets(1, args.seconds), timeout=args.seconds * 4 + 60)  # warm-up: learns the speed
        one, one_late, _ = run_batch(make_assets(1, args.seconds), timeout=args.seconds * 4 + 60)
        many, late, failed = run_batch(make_assets(args.renders, args.seconds), timeout=args.seconds * 6 + 120)
        worst_single = max(one_late)
        ratio = many / one
        p50_late, max_late = statistics.median(late), max(late)
        print(f"  one render: {one:.1f} s, noticed {one_late[0] * 100:.1f}% after the service finished it")
        print(f"  {args.renders} renders in flight: {many:.1f} s ({failed} not done), noticed late p50 "
              f"{p50_late * 100:.1f}%, max {max_late * 100:.1f}%")
        late_met = worst_single <= TARGET_LATE and p50_late <= TARGET_LATE
        print(f"P3' noticed without webhook: {worst_single * 100:.1f}% late alone, p50 {p50_late * 100:.1f}% in "
              f"flight (target <= {TARGET_LATE * 100:.0f}%): {'met' if late_met else 'NOT MET'}")
        print(f"P3' {args.renders} in flight with {args.workers} workers: {ratio:.2f}x one render "
              f"(target <= {TARGET_BATCH:g}): {'met' if ratio <= TARGET_BATCH else 'NOT MET'}")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        missed = not late_met or ratio > TARGET_BATCH or failed
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    if args.strict and missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
