import os
import sys
import types

import httpx
import pytest
from django.conf import settings as django_settings

if "sandbox" not in django_settings.INSTALLED_APPS:
    pytest.exit("the sandbox tests need the sandbox app installed (PHANTOMS_SANDBOX=1)", returncode=4)

from sandbox import faults  # noqa: E402

# The sandbox's own mount point, independent of whatever else the project's root urlconf imports.
URLCONF_NAME = "sandbox_tests_urlconf"


def _install_urlconf() -> str:
    if URLCONF_NAME not in sys.modules:
        from django.urls import include, path

        module = types.ModuleType(URLCONF_NAME)
        module.urlpatterns = [path("sandbox/", include("sandbox.urls"))]
        sys.modules[URLCONF_NAME] = module
    return URLCONF_NAME


@pytest.fixture(autouse=True)
def sandbox_settings(settings, tmp_path):
    settings.PHANTOMS_SANDBOX = True
    settings.ROOT_URLCONF = _install_urlconf()
    settings.MEDIA_ROOT = str(tmp_path / "media")
    # Short enough to keep the suite fast, still longer than the client timeouts the tests use.
    settings.SANDBOX_TIMEOUT_SECONDS = 1.0
    settings.SANDBOX_PROCESSING_SECONDS = 0.4
    # Faults live in a Redis that a running demo or a parallel test worker may share.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    settings.SANDBOX_KEY_PREFIX = f"phantoms:sandbox-test:{os.getpid()}:{worker}"
    return settings


@pytest.fixture(autouse=True)
def clean_faults(sandbox_settings):
    faults.clear_faults()
    faults.reset_call_counts()
    yield
    faults.clear_faults()
    faults.reset_call_counts()




@pytest.fixture
def sandbox_url(live_server):
    return f"{live_server.url}/sandbox"


@pytest.fixture
def http(sandbox_url):
    headers = {"Authorization": "Bearer test-token"}
    with httpx.Client(base_url=sandbox_url, headers=headers, timeout=httpx.Timeout(10.0)) as client:
        yield client


@pytest.fixture
def video_file():
    # Content is irrelevant to the platforms; only its size and hash are recorded.
    return ("clip.mp4", os.urandom(2048), "video/mp4")
