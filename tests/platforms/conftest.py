"""Platform tests: a tiny real video, a publishing asset on a channel, and the sandbox in-process.

The sandbox is served in this process through httpx's WSGI transport (no sockets, no sleeps), so a
lost answer can be staged at any call: `LossyTransport` forwards the request to the sandbox and then
raises a timeout instead of handing back the answer, exactly what a client sees when a connection
drops after the platform acted.
"""

from pathlib import Path

import httpx
import pytest
from django.core.files import File
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from phantoms.resilience.breakers import forget_breakers
from pipeline.models import Asset
from publishing.platforms.base import Adapter
from tests.factories import make_asset, make_channel, make_publication
from tests.helpers import fast_pipeline_settings, write_tiny_master

SANDBOX = "http://sandbox.test"


@pytest.fixture(scope="session")
def tiny_video(tmp_path_factory) -> Path:
    """Three seconds of 360x640 H.264 with AAC (Instagram takes no shorter reel): small, yet several upload chunks."""
    path = tmp_path_factory.mktemp("media") / "master.mp4"
    write_tiny_master(path)
    return path


class LossyTransport(httpx.BaseTransport):
    """The sandbox in-process; `lose` decides, per request, whether its answer is lost after it was served.

    `lose(index, request) -> bool`; every request is recorded in `sent` (method, url, headers, body).
    """

    def __init__(self, lose=None):
        self.inner = httpx.WSGITransport(app=WSGIHandler(), raise_app_exceptions=False)
        self.lose = lose or (lambda index, request: False)
        self.sent: list[httpx.Request] = []
        # Production hosts served by the sandbox: {"https://www.googleapis.com": "/sandbox/platforms/youtube"}.
        # Requests to them go to the sandbox prefix, and URLs in answers come back in production form,
        # so an adapter pointed at the real base URL runs unchanged.
        self.production: dict[str, str] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        index = len(self.sent)
        self.sent.append(request)
        served = self._to_sandbox(request)
        if self.lose(index, request) == "unsent":
            raise httpx.ConnectError("the connection failed before the request was sent (staged)", request=request)
        response = self.inner.handle_request(served)
        if self.lose(index, request):
            response.read()
            raise httpx.ReadTimeout("the answer was lost (staged)", request=request)
        if "location" in response.headers:
            response.headers["location"] = self._to_production(response.headers["location"])
        if self.production and "json" in response.headers.get("content-type", ""):
            # URLs handed out in a body (TikTok's upload_url) come back in production form too.
            text = response.read().decode()
            for origin, prefix in sorted(self.production.items(), key=lambda item: -len(item[1])):
                text = text.replace(f"{SANDBOX}{prefix}/".replace("/", "\\/"), f"{origin}/".replace("/", "\\/"))
                text = text.replace(f"{SANDBOX}{prefix}/", f"{origin}/")
            headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
            return httpx.Response(response.status_code, headers=headers, content=text.encode(), request=request)
        return response

    def _to_sandbox(self, request: httpx.Request) -> httpx.Request:
        origin = f"{request.url.scheme}://{request.url.host}"
        prefix = self.production.get(origin)
        # (Longest prefixes are matched first on the way back: one platform may serve two hosts.)
        if prefix is None:
            return request
        url = httpx.URL(f"{SANDBOX}{prefix}{request.url.raw_path.decode()}")
        headers = dict(request.headers)
        headers["host"] = url.host
        return httpx.Request(request.method, url, headers=headers, content=request.content)

    def _to_production(self, location: str) -> str:
        for origin, prefix in sorted(self.production.items(), key=lambda item: -len(item[1])):
            if location.startswith(f"{SANDBOX}{prefix}/"):
                return origin + location[len(SANDBOX + prefix):]
        return location


@pytest.fixture
def in_process(settings, monkeypatch):
    """Every adapter talks to the sandbox in this process; returns the transport (swap `lose` at will)."""
    settings.PHANTOMS_SANDBOX = True
    fast_pipeline_settings(settings, SANDBOX)
    settings.SANDBOX_TIMEOUT_SECONDS = 0.0
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "sandbox.test"]
    # As Django's test client does: a request served in-process must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    transport = LossyTransport()
    client = httpx.Client(transport=transport, timeout=5.0)
    monkeypatch.setattr(Adapter, "http_client", lambda self: client)
    forget_breakers()
    yield transport
    client.close()
    forget_breakers()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def publication_on(settings, tiny_video, tmp_path):
    """A publication of an asset whose master is `tiny_video`, on a new channel of `platform`."""
    settings.MEDIA_ROOT = str(tmp_path / "media")

    def make(platform: str, **channel_fields):
        channel = make_channel(platform, **channel_fields)
        asset = make_asset(Asset.State.PUBLISHING, channels=[channel], title="Three tips for better sleep",
                           script={"title": "Three tips for better sleep", "description": "Sleep better tonight.",
                                   "hashtags": ["#sleep", "#health"]})
        with tiny_video.open("rb") as video:
            asset.video.save("master.mp4", File(video), save=True)
        return make_publication(asset, channel)

    return make


# The Instagram and X tests' own fixtures (a live sandbox with a signed-media file, loopback transports).
from tests.platforms.media_fixtures import live_transport, local, media_file, platform_sandbox, tiny_mp4  # noqa: E402,F401
