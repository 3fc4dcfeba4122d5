"""Load the web process over loopback and count the database connections it holds.

    DATABASE_URL=postgres://... .venv/bin/python -m bench.web_load --threads 8 --clients 64 --seconds 20

Starts `manage.py serve` (waitress, PHANTOMS_DB_POOL=on) on a free port against DATABASE_URL, has
`--clients` concurrent keep-alive clients request pages that each read the database (readiness, the
API's asset and dead-letter lists with a token, a sandbox platform's post lookup), and samples
pg_stat_activity every 20 ms for the connections opened under the web process's application name.
Prints requests, requests per second, answers by status and the peak number of connections.
`--server runserver` measures Django's development server the same way, for comparison.
"""

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
# (path, how it authenticates): the API takes a bearer token; the sandbox page of an unknown post reads the
# database and answers 404 (a platform endpoint would soon answer its own documented 429).
PATHS = (("/readyz", None), ("/api/assets/?limit=5", "Bearer"), ("/api/dead-letters/?limit=5", "Bearer"),
         ("/sandbox/platforms/x/watch/no-such-post", None))


@dataclass
class LoadResult:
    requests: int = 0
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    errors: list = field(default_factory=list)
    peak_connections: int = 0
    samples: int = 0

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def lines(self, server: str, clients: int) -> list[str]:
        return [
            f"web process: {server}, {clients} concurrent clients, {self.seconds:.1f} s",
            f"  requests                 {self.requests:>7}   ({self.per_second:.0f}/s)",
            f"  answers by status        {dict(sorted(self.statuses.items()))}",
            f"  transport errors         {len(self.errors):>7}",
            f"  peak DB connections      {self.peak_connections:>7}   ({self.samples} samples)",
        ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_web(database_url: str, *, threads: int, app_name: str, env_extra=None, server: str = "serve",
              log_path: Path | None = None):
    """The web process on a free port, as `make demo` starts it. Returns (process, base URL)."""
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "phantoms.settings", "DATABASE_URL": database_url,
           "PHANTOMS_DB_POOL": "on", "PHANTOMS_WEB_THREADS": str(threads),
           "PHANTOMS_DB_APPLICATION_NAME": app_name, "PHANTOMS_SANDBOX": "1", "LOG_LEVEL": "WARNING",
           # This measures connections, not the API's throttling: one token may ask as often as it likes.
           "API_THROTTLE_TOKEN": "1000000/min",
           **(env_extra or {})}
    manage = [sys.executable, str(ROOT / "manage.py")]
    if server == "runserver":
        env["PHANTOMS_DB_POOL"] = "off"
        cmd = manage + ["runserver", f"127.0.0.1:{port}", "--noreload"]
    else:
        cmd = manage + ["serve", "--listen", f"127.0.0.1:{port}"]
    with open(log_path or os.devnull, "wb") as log:
        process = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"the web process exited with {process.returncode}")
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the web process did not answer at {base}")


def connections_of(conninfo: str, app_name: str, stop: threading.Event, result: LoadResult, every=0.02):
    with psycopg.connect(conninfo, autocommit=True) as conn:
        while not stop.is_set():
            (count,) = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                                    [app_name]).fetchone()
            result.peak_connections = max(result.peak_connections, count)
            result.samples += 1
            time.sleep(every)


def drive(base: str, token: str, *, clients: int, seconds: float, conninfo: str, app_name: str) -> LoadResult:
    """`clients` threads, each a keep-alive client cycling through PATHS for `seconds`."""
    result = LoadResult()
    lock = threading.Lock()
    stop, done = threading.Event(), threading.Event()
    sampler = threading.Thread(target=connections_of, args=(conninfo, app_name, done, result), daemon=True)
    sampler.start()

    def client(n: int):
        with httpx.Client(base_url=base, timeout=30) as http:
            i = n
            while not stop.is_set():
                path, scheme = PATHS[i % len(PATHS)]
                i += 1
                headers = {"Authorization": f"{scheme} {token}"} if scheme else {}
                try:
                    status = http.get(path, headers=headers).status_code
                except httpx.HTTPError as exc:
                    with lock:
                        result.errors.append(f"{path}: {exc!r}")
                    continue
                with lock:
                    result.requests += 1
                    result.statuses[status] += 1

    started = time.monotonic()
    workers = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join(60)
    result.seconds = time.monotonic() - started
    time.sleep(0.1)
    done.set()
    sampler.join(5)
    return result


def api_token() -> str:
    """A new operator-role integration token (it may read assets and dead letters) in the database this
    process uses; earlier ones of this bench are revoked."""
    from accounts.models import IntegrationToken, Team
    from accounts.services.tokens import issue_token, revoke_token
    from accounts.teams import default_team_pk

    for token in IntegrationToken.objects.filter(name="web load", revoked=False):
        revoke_token(token.pk)
    return issue_token(name="web load", team=Team.objects.get(pk=default_team_pk()), role="operator")[1]


def conninfo_of(database_url: str) -> str:
    return database_url.replace("postgres://", "postgresql://", 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--server", choices=["serve", "runserver"], default="serve")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("DATABASE_URL: a PostgreSQL URL (connections are counted in pg_stat_activity)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phantoms.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    token = api_token()
    app_name = f"phantoms-web-load-{uuid.uuid4().hex[:6]}"
    process, base = start_web(database_url, threads=args.threads, app_name=app_name, server=args.server)
    try:
        result = drive(base, token, clients=args.clients, seconds=args.seconds,
                       conninfo=conninfo_of(database_url), app_name=app_name)
    finally:
        process.terminate()
        process.wait(10)
    server = "runserver" if args.server == "runserver" else f"manage.py serve, {args.threads} threads"
    print("\n".join(result.lines(server, args.clients)))


if __name__ == "__main__":
    main()
