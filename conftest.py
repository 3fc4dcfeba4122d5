"""Worker subprocesses started by tests must share this run's Redis: export its URL.

`make test` runs the suite on two pytest-xdist workers. Each worker is a separate test run with its
own PostgreSQL test database (pytest-django adds `_gw0`, `_gw1`), its own Redis database and its own
var/ folder (media, static files, the embedded Redis), so no test sees another worker's rows, jobs
or files.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

# As the user set it, before pytest_configure exports this run's own (an embedded Redis's socket).
USER_REDIS_URL = os.environ.get("REDIS_URL", "")


def pytest_configure(config):
    from django.conf import settings

    os.environ["REDIS_URL"] = settings.REDIS_URL


def redis_url_with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(config, specs):
    # Set in each worker's environment before it starts, so the settings it loads (and the worker
    # subprocesses its tests start) see them.
    from django.conf import settings

    first_db = int(urlsplit(USER_REDIS_URL).path.strip("/") or 0) + 1 if USER_REDIS_URL else 0
    for number, spec in enumerate(specs):
        spec.env["PHANTOMS_VAR_DIR"] = str(Path(settings.VAR_DIR) / "test-workers" / f"gw{number}")
        # The databases after REDIS_URL's own, one per worker; unset, each worker's own embedded Redis.
        spec.env["REDIS_URL"] = redis_url_with_db(USER_REDIS_URL, first_db + number) if USER_REDIS_URL else ""
