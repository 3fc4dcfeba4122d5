"""Test setup: the sandbox is on; Redis is the machine's (REDIS_URL) or one embedded server shared
with any worker subprocess; stage delays are short so deferrals and retries play out in seconds."""

import os

os.environ.setdefault("PHANTOMS_SANDBOX", "1")
os.environ.setdefault("PHANTOMS_VAR_DIR", os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "test"))
if not os.environ.get("REDIS_URL"):
    from pathlib import Path

    from phantoms.embedded_redis import embedded_redis_url

    Path(os.environ["PHANTOMS_VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    os.environ["REDIS_URL"] = embedded_redis_url(Path(os.environ["PHANTOMS_VAR_DIR"]))

import pytest  # noqa: E402

from tests.helpers import fast_pipeline_settings, flush_redis  # noqa: E402


@pytest.fixture(autouse=True)
def _clean_redis():
    flush_redis()
    yield


@pytest.fixture
def sandbox(live_server, settings):
    """Point every adapter at the sandbox served by this test run, over real HTTP."""
    fast_pipeline_settings(settings, live_server.url)
    return live_server.url
