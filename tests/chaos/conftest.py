import pytest

from phantoms.resilience.breakers import forget_breakers


@pytest.fixture(autouse=True)
def _benchmark_providers(settings):
    """Chaos runs use the silent voice and the instant render, which only a setting makes selectable."""
    settings.BENCHMARK_PROVIDERS = True


@pytest.fixture
def chaos_settings(sandbox, settings):
    """The sandbox over HTTP, with breakers that recover within a test and no metric readbacks."""
    settings.BREAKERS = {
        **settings.BREAKERS,
        **{p: {"fail_max": 5, "reset_timeout": 1, "success_threshold": 1}
           for p in ("youtube", "tiktok", "instagram", "x")},
    }
    settings.METRIC_READBACK_OFFSETS = []
    forget_breakers()
    yield settings
    forget_breakers()
