"""Connecting accounts against the sandbox's authorization servers, over real HTTP."""

import re
from datetime import timedelta
from html import unescape
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from django.core.files import File
from django.urls import reverse
from django.utils import timezone

from phantoms.engine import runner
from pipeline.models import Asset
from publishing.models import Publication
from publishing.stages import POLL, PUBLISH
from tests.factories import make_asset, make_publication, make_team, make_user
from tests.platforms.conftest import tiny_video  # noqa: F401 - a tiny real video, made once per run


@pytest.fixture
def oauth_sandbox(sandbox, settings):
    """With the sandbox on, every authorization server is the sandbox's (connections.providers.base.hosts)."""
    settings.OAUTH_HOSTS = {}
    return sandbox


@pytest.fixture
def team(db):
    return make_team("creators")


@pytest.fixture
def admin_user(team):
    return make_user("owner", is_staff=True, is_superuser=True, teams=[team])


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def consent(authorize_url: str, *, allow: bool = True, untick=(), account: str = "Sandbox Creator") -> str:
    """What a person does on the platform's consent page; returns where the platform sends the browser."""
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        page = browser.get(authorize_url)
        assert page.status_code == 200, page.text[-800:]
        fields = [(unescape(name), unescape(value))
                  for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text)]
        scopes = [unescape(s) for s in re.findall(r'name="grant" value="([^"]*)"', page.text)]
        fields += [("grant", scope) for scope in scopes if scope not in untick]
        fields += [("account_name", account), ("decision", "allow" if allow else "deny")]
        answer = browser.post(authorize_url.split("?")[0], content=urlencode(fields),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 302, answer.text[:500]
    return answer.headers["location"]


def connect(client, platform: str, **consent_options):
    """Click "Connect <platform>" in the admin, consent at the sandbox, come back: the final admin answer."""
    start = client.post(reverse("admin:connections_connection_connect", args=[platform]))
    assert start.status_code == 302, start.content[:500]
    back = consent(start["Location"], **consent_options)
    parts = urlsplit(back)
    return client.get(f"{parts.path}?{parts.query}"), back


@pytest.fixture
def publish(settings, tmp_path, tiny_video):  # noqa: F811 - the imported fixture, by name
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SANDBOX_PROCESSING_SECONDS = 0

    made = []

    def make(channel) -> Publication:
        made.append(channel)  # X refuses a post whose text repeats an earlier one: each asset differs
        title = f"Tip {len(made)} for better sleep"
        asset = make_asset(Asset.State.PUBLISHING, channels=[channel], title=title,
                           script={"title": title, "description": f"Sleep better, part {len(made)}.",
                                   "hashtags": ["#sleep"]})
        with tiny_video.open("rb") as video:
            asset.video.save("master.mp4", File(video), save=True)
        return make_publication(asset, channel)

    return make


def run(publication: Publication, times: int = 6) -> list[str]:
    """Run the publication's stages the way workers would, until it settles or waits long."""
    outcomes = []
    for _ in range(times):
        publication.refresh_from_db()
        stage = {Publication.State.PENDING: PUBLISH, Publication.State.UPLOADING: PUBLISH,
                 Publication.State.PROCESSING: POLL}.get(publication.state)
        if stage is None:
            break
        outcome = runner.run(stage, publication.pk, publication.job_id)
        outcomes.append(outcome)
        publication.refresh_from_db()
        if outcome in ("not_ready", "rate_limited") and publication.next_run_at > timezone.now() + timedelta(
                seconds=30):
            break  # a long wait: paused
    publication.refresh_from_db()
    return outcomes
