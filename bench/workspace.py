"""A benchmark's own folder and database, made before Django starts and removed when it ends.

`DATABASE_URL` names the server and the kind of database to measure on, never a database to fill:
on PostgreSQL the benchmark creates a scratch database beside the named one (`<name>_bench_<pid>`)
and drops it at the end, so runs never meet each other's rows (nor tokens encrypted with another
run's keys). Without `DATABASE_URL` the database is SQLite in the temporary folder.
"""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def _admin_connection(url):
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True)


@contextlib.contextmanager
def workspace(prefix: str):
    """Yields the temporary folder; sets PHANTOMS_VAR_DIR, MEDIA_ROOT and DATABASE_URL for it."""
    var_dir = tempfile.mkdtemp(prefix=prefix)
    os.environ["PHANTOMS_VAR_DIR"] = var_dir
    os.environ["MEDIA_ROOT"] = str(Path(var_dir) / "media")
    given = os.environ.get("DATABASE_URL", "")
    scratch = None
    if given.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(given)
        scratch = f"{parts.path.lstrip('/') or 'postgres'}_bench_{os.getpid()}"
        with _admin_connection(given) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
            admin.execute(f'CREATE DATABASE "{scratch}"')
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{scratch}"))
    elif not given:
        os.environ["DATABASE_URL"] = f"sqlite:///{Path(var_dir) / 'bench.sqlite3'}"
    try:
        yield var_dir
    finally:
        if scratch:
            from django.db import connections

            connections.close_all()
            with _admin_connection(given) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
            os.environ["DATABASE_URL"] = given
        shutil.rmtree(var_dir, ignore_errors=True)
