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
    # One token per platform posts dozens of videos a minute here: far beyond the platforms' own
    # per-token limits, which the platform tests cover.
    settings.SANDBOX_TIKTOK_INITS_PER_MINUTE = settings.SANDBOX_TIKTOK_STATUS_PER_MINUTE = 100_000
    settings.SANDBOX_TIKTOK_CREATOR_INFO_PER_MINUTE = settings.SANDBOX_YOUTUBE_UPLOADS_PER_DAY = 100_000
    settings.YOUTUBE_QUOTA_INSERTS_PER_DAY = 100_000
    forget_breakers()
    yield settings
    forget_breakers()
