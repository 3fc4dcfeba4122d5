"""Worker subprocesses started by tests must share this run's Redis: export its URL."""

import os


def pytest_configure(config):
    from django.conf import settings

    os.environ["REDIS_URL"] = settings.REDIS_URL
