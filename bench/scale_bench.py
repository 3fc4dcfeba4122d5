"""The web and the reconciler at 10,000 assets: list API against bare values(), admin changelists, a reconciler pass.

    DATABASE_URL=postgres://... .venv/bin/python -m bench.scale_bench [--assets 10000] [--working 1000]

Fills a scratch database of its own (bench.workspace: beside the one DATABASE_URL names on
PostgreSQL, the shape that counts, dropped at the end; SQLite in the temporary folder when unset)
with `--assets` published assets carrying a production-sized render spec and word timings, plus
`--working` assets in a working stage, and measures in one process:

- P7: `GET /api/assets/?limit=N` with an integration token (in-process client: the whole Django and
  DRF stack, authentication, throttling, the ETag) against a bare `values()` of the same page,
  serialised with json, for N = 1, 50 and 500 (the page cap; 501 is refused with a 400 naming
  `limit`); the p50 of each and their ratio (target <= 2). Also: a 304 for an unchanged list, a
  cursor page deep in the table, and bytes per asset in a page of 50.
- Admin changelists of assets, attempts, transitions, publications and dead letters at that size:
  queries per page (the same at 10,000 rows as at 10) and the p50.
- Reconciler: one pass with the `--assets` terminal rows and `--working` rows that all have a live
  job; its p50 and the number of Redis round trips it makes (target: <= 100 ms, round trips not
  growing with the working rows).

Both sides are warmed before timing; the temporary folder and the scratch database are removed at the end.
On PostgreSQL the filled tables are vacuumed and analysed before measuring, as autovacuum does after
a bulk insert in production (without it the planner has no statistics for the new rows and no
index-only scan is possible until autovacuum comes by, or never where it is off).
"""

import argparse
import json
import os
import signal
import statistics
import sys
import time
from pathlib import Path

from bench.workspace import workspace

ROOT = Path(__file__).resolve().parent.parent
PAGE_SIZES = (1, 50, 500)
TARGET_LIST_RATIO = 2.0
TARGET_RECONCILE_MS = 100.0
BENCH_BRIEF = "scale-bench"


def setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phantoms.settings")
    os.environ["API_THROTTLE_TOKEN"] = "100000000/min"
    os.environ["API_THROTTLE_USER"] = "100000000/min"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # Admin pages name their static files; the bench does not build the hashed manifest for them.
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

    call_command("migrate", verbosity=0)


def p50(func, runs: int) -> float:
    func()
    func()  # warmed: connections, caches, imports
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def fill(assets: int, working: int):
    """Published assets with the big columns production rows carry, and working ones with live jobs."""
    from django.utils import timezone

    from accounts.models import Team
    from accounts.teams import default_team_pk
    from pipeline.models import Asset
    from publishing.models import Channel

    team = Team.objects.get(pk=default_team_pk())
    channel, _ = Channel.objects.get_or_create(platform="youtube", account_id="scale-bench",
                                               defaults={"name": "scale bench", "team": team})
    have = Asset.objects.filter(brief__startswith=BENCH_BRIEF).count()
    spec = {"script": {"beats": [{"narration": "word " * 40, "on_screen": "a headline"}] * 6},
            "timings": [{"word": "word", "start": i * 0.3, "end": i * 0.3 + 0.25} for i in range(120)],
            "visuals": [{"path": f"/media/assets/x/visuals/{i}.mp4", "start": i * 5.0, "end": i * 5.0 + 5}
                        for i in range(6)]}
    timings = spec["timings"]
    now = timezone.now()
    batch = []
    for n in range(have, assets + working):
        state = Asset.State.PUBLISHED if n < assets else Asset.State.RENDERING
        batch.append(Asset(team=team, brief=f"{BENCH_BRIEF} {n}: why octopuses have three hearts", title=f"Asset {n}",
                           state=state, render_spec=spec, word_timings=timings, script=spec["script"],
                           video=f"assets/{n}/video.mp4", video_duration=30.0, render_progress=1.0,
                           job_id=f"scale-bench-{n}" if state == Asset.State.RENDERING else "",
                           next_run_at=now + timezone.timedelta(hours=1) if state == Asset.State.RENDERING else None))
        if len(batch) == 1000:
            made = Asset.objects.bulk_create(batch)
            Asset.channels.through.objects.bulk_create(
                [Asset.channels.through(asset_id=a.pk, channel_id=channel.pk) for a in made])
            batch = []
    if batch:
        made = Asset.objects.bulk_create(batch)
        Asset.channels.through.objects.bulk_create(
            [Asset.channels.through(asset_id=a.pk, channel_id=channel.pk) for a in made])
    vacuum(Asset, Asset.channels.through)
    return team


def vacuum(*models):
    """What autovacuum does after a bulk insert: statistics for the planner, the visibility map for
    index-only scans. PostgreSQL only (SQLite has neither)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f'VACUUM (ANALYZE) "{model._meta.db_table}"')


def list_api(team, runs: int) -> list[str]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.services.tokens import issue_token
    from pipeline.models import Asset
    from pipeline.selectors import LIST_COLUMNS

    _, key = issue_token(name="scale bench", team=team, role="viewer")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    lines, ratios = [], []
    for size in PAGE_SIZES:
        def api(size=size):
            response = client.get(f"/api/assets/?limit={size}")
            assert response.status_code == 200, response.content[:300]
            return response

        def bare(size=size):
            rows = list(Asset.objects.filter(team=team).order_by("-created_at", "-id").values(*LIST_COLUMNS)[:size])
            return json.dumps(rows, default=str)

        api_ms, bare_ms = p50(api, runs), p50(bare, runs)
        ratios.append(api_ms / bare_ms)
        with CaptureQueriesContext(connection) as queries:
            body = api().content
        lines.append(f"  page of {size:>3}: API p50 {api_ms:6.2f} ms, bare values() {bare_ms:6.2f} ms, "
                     f"ratio {api_ms / bare_ms:4.1f} ({len(queries)} queries, {len(body) / size / 1024:.2f} KB/asset)")
    refused = client.get(f"/api/assets/?limit={max(PAGE_SIZES) + 1}")
    lines.append(f"  page of {max(PAGE_SIZES) + 1}: HTTP {refused.status_code} "
                 f"({json.loads(refused.content)['error']['fields']})")
    etag = client.get("/api/assets/?limit=50")["ETag"]
    not_modified = p50(lambda: client.get("/api/assets/?limit=50", HTTP_IF_NONE_MATCH=etag), runs)
    status = client.get("/api/assets/?limit=50", HTTP_IF_NONE_MATCH=etag).status_code
    lines.append(f"  unchanged list with If-None-Match: HTTP {status}, p50 {not_modified:.2f} ms")
    offset = Asset.objects.filter(team=team).count() - 60
    deep = p50(lambda: client.get(f"/api/assets/?limit=50&offset={offset}"), runs)
    cursor_url = "/api/assets/?cursor=&limit=50"
    for _ in range(3):
        cursor_url = json.loads(client.get(cursor_url).content)["next"]
    cursor = p50(lambda: client.get(cursor_url), runs)
    lines.append(f"  page of 50 at offset {offset}: p50 {deep:.2f} ms; by cursor (4th page): p50 {cursor:.2f} ms")
    worst = max(ratios)
    lines.insert(0, f"P7 list API vs bare values() at {Asset.objects.count()} assets: worst ratio {worst:.1f} "
                    f"(target <= {TARGET_LIST_RATIO:g}): {'met' if worst <= TARGET_LIST_RATIO else 'NOT MET'}")
    return lines, worst <= TARGET_LIST_RATIO


def admin_changelists(runs: int) -> list[str]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user, _ = get_user_model().objects.get_or_create(username="scale-bench-admin",
                                                     defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)
    lines = []
    for path in ("/admin/pipeline/asset/", "/admin/engine/stageattempt/", "/admin/engine/transitionlog/",
                 "/admin/publishing/publication/", "/admin/engine/deadletter/"):
        def page(path=path):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        took = p50(page, max(5, runs // 4))
        with CaptureQueriesContext(connection) as queries:
            page()
        lines.append(f"  {path:<34} p50 {took:7.1f} ms, {len(queries)} queries")
    return ["admin changelists (superuser, 50 rows a page):", *lines]


def reconciler(runs: int, working: int) -> list[str]:
    import redis.connection

    from phantoms.engine.queueing import get_queue
    from phantoms.engine.services.reconciler import reconcile
    from pipeline.models import Asset

    # Every working row's job waits in its queue (so nothing is overdue, as in a healthy system).
    connection = get_queue("render").connection
    connection.delete(get_queue("render").key)
    ids = list(Asset.objects.filter(state=Asset.State.RENDERING, brief__startswith=BENCH_BRIEF)
               .values_list("job_id", flat=True))
    with connection.pipeline() as pipe:
        for job_id in ids:
            pipe.rpush(get_queue("render").key, job_id)
        pipe.execute()
    Asset.objects.filter(state=Asset.State.RENDERING, brief__startswith=BENCH_BRIEF).update(next_run_at=None)

    sent = [0]
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent[0] += 1
        return original(self, command, check_health)

    redis.connection.AbstractConnection.send_packed_command = counting
    try:
        took = p50(reconcile, runs)
        sent[0] = 0
        counts = reconcile()
        trips = sent[0]
    finally:
        redis.connection.AbstractConnection.send_packed_command = original
        connection.delete(get_queue("render").key)
    terminal = Asset.objects.exclude(state=Asset.State.RENDERING).count()
    met = took <= TARGET_RECONCILE_MS
    return [f"reconciler pass at {terminal} terminal + {len(ids)} working rows (all working rows overdue, "
            f"their jobs waiting in Redis): p50 {took:.1f} ms (target <= {TARGET_RECONCILE_MS:g}): "
            f"{'met' if met else 'NOT MET'}; {trips} Redis round trips; "
            f"requeued {counts.get('pipeline.asset', 0)}"], met


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--working", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--strict", action="store_true", help="exit non-zero when a target is missed")
    args = parser.parse_args()
    # A timeout or Ctrl-C still removes the temporary folder and database (finally blocks run on SystemExit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with workspace("phantoms-scale-"):
        setup()
        from django.conf import settings

        database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        print(f"scale bench: {database}, {args.assets} terminal + {args.working} working assets, "
              f"load average {os.getloadavg()[0]:.2f}")
        team = fill(args.assets, args.working)
        list_lines, list_met = list_api(team, args.runs)
        print("\n".join(list_lines))
        print("\n".join(admin_changelists(args.runs)))
        reconcile_lines, reconcile_met = reconciler(args.runs, args.working)
        print("\n".join(reconcile_lines))
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.strict and not (list_met and reconcile_met):
        sys.exit(1)


if __name__ == "__main__":
    main()
