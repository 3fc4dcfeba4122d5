"""`make bench`: the Phantoms pipeline against a bare RQ chain, same Redis, same worker, one run.

Both sides run N items through one in-process SimpleWorker. The bare side is five chained no-op
jobs per item. The Phantoms side is the real pipeline (script → voice → visuals → render → publish:
five jobs per item too, with database claims, attempts, transitions and HTTP to the sandbox) with
instant offline providers (no visuals files: the `plain` provider) and auto-approval.
The sandbox platform has no processing time, so it answers an upload with a live post and no poll
job follows, as with X; `--platform-processing 0.001` adds the poll job (five jobs per item against
the chain's five, the production shape). Both sides are warmed before round 1, bare and pipeline
runs alternate for a few rounds; prints items/s for both each round and the median ratio against
P1's target for the shape (PostgreSQL with the poll job >= 0.5, the embedded default >= 0.65).
The temporary folder and scratch database are removed at the end (bench.workspace); `--strict` exits
non-zero when the target is missed.
"""

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.workspace import workspace
from publishing import platforms

ROOT = Path(__file__).resolve().parent.parent
PROVIDERS = {"voice": "silence", "visuals": "plain", "render": "instant"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def configure(port: int, processing: float = 0.0):
    """Settings for the run; the folder and database come from bench.workspace."""
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "phantoms.settings",
        "PHANTOMS_SANDBOX": "1",
        "PHANTOMS_SANDBOX_URL": f"http://127.0.0.1:{port}",
        "PHANTOMS_AUTO_APPROVE": "1",
        "PHANTOMS_BENCHMARK_PROVIDERS": "1",
        "PHANTOMS_PUBLISH_POLL_INTERVAL": "0",
        "SANDBOX_PROCESSING_SECONDS": str(processing),
        "PHANTOMS_METRIC_OFFSETS": "",
        **{f"RATE_{p.upper()}_CALLS": "1000000" for p in platforms.names()},
        # YouTube's daily quotas (100 uploads a day, at Phantoms and at the sandbox) would stop the
        # bench at its 101st item: raised like the rate limits above, still counted on every upload.
        "YOUTUBE_QUOTA_INSERTS_PER_DAY": "1000000",
        "YOUTUBE_QUOTA_UNITS_PER_DAY": "100000000",
        "SANDBOX_YOUTUBE_UPLOADS_PER_DAY": "1000000",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        "RQ_LOG_LEVEL": "WARNING",
    })
    import django

    django.setup()


def bare_chain(items: int, worker) -> float:
    import django_rq

    from bench.noop import step

    queue = django_rq.get_queue("script")
    started = time.time()
    for item in range(items):
        queue.enqueue(step, item, 0)
    worker.work(burst=True, logging_level="WARNING")
    return float(queue.connection.get("phantoms:bench:last_chain_done")) - started


def warm_up(worker, items: int):
    """Both sides once before round 1: imports, connections, the instant master file, the chain's job code."""
    from pipeline.services.briefs import submit_brief

    bare_chain(max(1, items // 10), worker)
    submit_brief(brief="warm-up", channels=[bench_channel()], providers=PROVIDERS)
    worker.work(burst=True, logging_level="WARNING")


def bench_channel():
    from ops.sandbox_accounts import connect_sandbox_account
    from publishing.models import Channel

    channel, _ = Channel.objects.get_or_create(platform="youtube", account_id="bench",
                                               defaults={"name": "bench"})
    connect_sandbox_account(channel)
    return channel


def phantoms_pipeline(items: int, worker) -> float:
    from phantoms.engine.queueing import promote_due_jobs
    from pipeline.models import Asset
    from pipeline.services.briefs import submit_brief

    channel, providers = bench_channel(), PROVIDERS
    started = time.time()
    pks = [submit_brief(brief=f"Benchmark brief {n}", channels=[channel], providers=providers,
                        target_duration_seconds=5)[0].pk for n in range(items)]
    finished = [Asset.State.PUBLISHED, Asset.State.FAILED, Asset.State.PARTIALLY_PUBLISHED]
    deadline = time.monotonic() + 120 + items
    while Asset.objects.filter(pk__in=pks).exclude(state__in=finished).exists():
        if time.monotonic() > deadline:
            from rq.job import Job

            stuck = []
            for asset in Asset.objects.filter(pk__in=pks).exclude(state__in=finished)[:5]:
                try:
                    job = Job.fetch(asset.job_id, connection=worker.connection)
                    job_state = (job.get_status(), job.args, job.return_value())
                except Exception as exc:
                    job_state = repr(exc)
                stuck.append((asset.pk, asset.state, asset.lease_owner, asset.job_id, job_state))
            raise SystemExit(f"benchmark pipeline did not finish: {stuck[:5]}")
        worker.work(burst=True, logging_level="WARNING")
        if not any(q.count for q in worker.queues):
            promote_due_jobs([q.name for q in worker.queues], worker.connection)
            time.sleep(0.01)
    # Up to the last asset's publication: the worker's own shutdown is not pipeline time.
    from phantoms.engine.models import TransitionLog

    last = TransitionLog.objects.filter(asset__in=pks, publication=None, to_state="published").latest("at")
    elapsed = last.at.timestamp() - started
    failed = Asset.objects.filter(pk__in=pks).exclude(state=Asset.State.PUBLISHED).count()
    if failed:
        raise SystemExit(f"{failed} benchmark assets did not publish")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=int(os.environ.get("BENCH_ITEMS", 100)))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 3)),
                        help="bare and pipeline runs alternate this many times; the median ratio is reported")
    parser.add_argument("--platform-processing", type=float, default=0.0, metavar="SECONDS",
                        help="the sandbox platform's processing time: above 0, every upload is followed by "
                             "a poll job (which finds it live once the time has passed)")
    parser.add_argument("--strict", action="store_true", help="exit non-zero when the target is missed")
    args = parser.parse_args()
    # A timeout or Ctrl-C still removes the temporary folder and database (finally blocks run on SystemExit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with workspace("phantoms-bench-"):
        return run(args)


def run(args) -> None:
    port = free_port()
    configure(port, args.platform_processing)

    from django.conf import settings
    from django.core.management import call_command
    from rq import SimpleWorker

    call_command("migrate", verbosity=0)
    env = {**os.environ, "REDIS_URL": settings.REDIS_URL}
    # The sandbox is served by waitress: the development server adds ~30 ms to every request
    # (one write per header line meets delayed ACKs), which would measure Django's runserver, not us.
    server = subprocess.Popen([sys.executable, "-m", "waitress", "--listen", f"127.0.0.1:{port}", "--threads", "4",
                               "phantoms.wsgi:application"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import httpx

        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        import django_rq

        from phantoms.redis import get_redis

        get_redis().flushdb()
        queues = [django_rq.get_queue(name) for name in settings.PIPELINE_QUEUES]
        worker = SimpleWorker(queues, connection=django_rq.get_connection("script"))
        warm_up(worker, args.items)
        database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        print(f"{args.items} items per run, {args.rounds} rounds, bare chain and pipeline alternating "
              f"(pipeline: instant providers, auto-approval, {database}, sandbox over HTTP)")
        ratios = []
        for round_number in range(1, args.rounds + 1):
            # Alternating, so drift on a shared machine (other load, a warmer cache) hits both sides.
            bare_rate = args.items / bare_chain(args.items, worker)
            pipeline_rate = args.items / phantoms_pipeline(args.items, worker)
            ratios.append(pipeline_rate / bare_rate)
            print(f"round {round_number}: bare RQ chain (5 no-op jobs/item) {bare_rate:7.1f} items/s   "
                  f"Phantoms pipeline {pipeline_rate:7.1f} items/s   ratio {ratios[-1]:.2f}")
    finally:
        server.terminate()
        server.wait(10)
    median = statistics.median(ratios)
    poll = args.platform_processing > 0
    target = 0.5 if database == "postgresql" else 0.65
    shape = f"{database}, {'with' if poll else 'without'} the poll job"
    counted = database == "postgresql" and poll or database.startswith("sqlite") and not poll
    met = median >= target
    print(f"ratio pipeline/bare: {median:.2f} median of {len(ratios)} (min {min(ratios):.2f}, max {max(ratios):.2f})")
    print(f"P1 pipeline/bare ({shape}): {median:.2f} (target >= {target:.2f}"
          f"{'' if counted else '; the target is set for PostgreSQL with the poll job and the embedded default'}): "
          f"{'met' if met else 'NOT MET'}; load average {os.getloadavg()[0]:.2f}")
    if args.strict and not met:
        sys.exit(1)


if __name__ == "__main__":
    main()
