"""A fifth platform is one package plus one registration (docs/platforms.md, "The registry")."""

import pytest

from phantoms.resilience.breakers import get_breaker
from publishing import platforms
from publishing.models import Channel, Publication
from publishing.platforms.youtube import YouTube
from sandbox import faults
from sandbox.models import SandboxPost
from sandbox.views import platforms as sandbox_platforms
from sandbox.views.platforms import youtube as youtube_sandbox
from tests.platforms.drive import settle

# The runner closes connections it finds inside a transaction: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)


class Fediverse(YouTube):
    """The fake platform's package: it happens to speak a resumable upload protocol like YouTube's."""

    name = "fediverse"
    caption_limit = 500


@pytest.fixture
def fifth():
    platforms.register("fediverse", "Fediverse", f"{__name__}.Fediverse", production_url="https://fediverse.invalid")
    sandbox_platforms.register_module("fediverse", youtube_sandbox)
    yield
    platforms.unregister("fediverse")


def test_a_registered_platform_is_everywhere_the_list_is_read(fifth, settings):
    settings.PHANTOMS_SANDBOX = True
    assert "fediverse" in platforms.names()
    assert ("fediverse", "Fediverse") in Channel._meta.get_field("platform").choices
    assert "fediverse" in faults.TARGETS
    assert get_breaker("fediverse").name == "fediverse"  # breaker defaults, no setting needed
    channel = Channel(platform="fediverse", name="Fediverse", account_id="me")
    channel.full_clean(exclude=["team"])
    assert isinstance(platforms.adapter_for(channel), Fediverse)
    assert platforms.base_url("fediverse").endswith("/sandbox/platforms/fediverse")


def test_a_fifth_platform_publishes_through_the_sandbox(fifth, in_process, publication_on, settings):
    settings.SANDBOX_PROCESSING_SECONDS = 0
    publication = settle(publication_on("fediverse"))

    assert publication.state == Publication.State.PUBLISHED
    post = SandboxPost.objects.get()
    assert (post.platform, post.remote_id) == ("fediverse", publication.remote_id)
    assert post.size_bytes == publication.asset.video.size
    assert all("/sandbox/platforms/fediverse/" in str(request.url) for request in in_process.sent)


def test_an_unknown_platform_is_named_in_the_error():
    with pytest.raises(platforms.UnknownPlatform, match="'mastodon' is not registered; registered: youtube"):
        platforms.get("mastodon")
