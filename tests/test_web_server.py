"""The web process under load: waitress's bounded threads, and never more database connections than threads.

A bounded loopback load test of `manage.py serve` (what `make demo` and compose run): 24 concurrent
clients against 4 threads for a few seconds, pages that each read the database, the sandbox served
by the same process. bench/web_load.py runs the same at any size.
"""

import uuid

import pytest
from django.db import connection

from bench.web_load import api_token, drive, start_web
from tests.workers import database_url

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif("connection.vendor != 'postgresql'", reason="counts PostgreSQL connections")]

THREADS = 4
CLIENTS = 24
SECONDS = 4.0


def conninfo() -> str:
    s = connection.settings_dict
    return (f"host={s.get('HOST') or '127.0.0.1'} port={s.get('PORT') or 5432} dbname={s['NAME']} "
            f"user={s['USER']}" + (f" password={s['PASSWORD']}" if s.get("PASSWORD") else ""))


def test_peak_connections_stay_within_the_pool_under_load(settings, tmp_path):
    token = api_token()
    app_name = f"phantoms-web-test-{uuid.uuid4().hex[:6]}"
    process, base = start_web(database_url(), threads=THREADS, app_name=app_name,
                              env_extra={"REDIS_URL": settings.REDIS_URL, "PHANTOMS_VAR_DIR": str(settings.VAR_DIR)},
                              log_path=tmp_path / "web.log")
    try:
        result = drive(base, token, clients=CLIENTS, seconds=SECONDS, conninfo=conninfo(), app_name=app_name)
    finally:
        process.terminate()
        process.wait(10)

    assert result.errors == [] and result.requests >= 100, (result.errors[:3], result.requests)
    # Every answer is the page's own: the API's lists, readiness, and the sandbox's 404 for an unknown post.
    assert set(result.statuses) <= {200, 404} and result.statuses[200] > 0, result.statuses
    assert result.statuses[404] > 0  # the sandbox, served by the same process, looked the post up
    assert result.samples >= 20
    assert 1 <= result.peak_connections <= THREADS, result.peak_connections
