"""Shared fixtures: a clean Redis per test and the sandbox served over real HTTP with short delays."""

import pytest
from django.core.management import call_command

from phantoms.resilience.http import close_pooled_clients
from tests.helpers import fast_pipeline_settings, flush_redis


@pytest.fixture(scope="session", autouse=True)
def _static_files():
    """The hashed, compressed static files pages link to: what collectstatic builds before the web starts."""
    call_command("collectstatic", interactive=False, verbosity=0)


@pytest.fixture(autouse=True)
def _clean_redis():
    from pipeline.providers.render.remote import forget_speed

    flush_redis()
    forget_speed()  # the render service's learned speed lives in Redis, cached per process
    yield


@pytest.fixture(autouse=True)
def _forget_detected_script_apis():
    """Which script API a server speaks is remembered per process; each test finds out afresh."""
    from pipeline.providers.script.openai import forget_detected_apis

    forget_detected_apis()
    yield
    forget_detected_apis()


@pytest.fixture
def sandbox(live_server, settings):
    """Point every adapter at the sandbox served by this test run, over real HTTP."""
    settings.PHANTOMS_SANDBOX = True
    fast_pipeline_settings(settings, live_server.url)
    yield live_server.url
    close_pooled_clients()
