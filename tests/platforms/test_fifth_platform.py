"""A fifth platform is one package plus one registration (docs/platforms.md, "The registry")."""

import pytest

from phantoms.engine import runner
from phantoms.resilience.breakers import get_breaker
from publishing import platforms
from publishing.models import Channel, Publication
from publishing.platforms.legacy import LegacyAdapter
from publishing.stages import POLL, PUBLISH
from sandbox import faults
from sandbox.models import SandboxPost

# The runner closes connections it finds inside a transaction: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)


class Fediverse(LegacyAdapter):
    """The fake platform's package: nothing outside it and its registration changes."""

    name = "fediverse"
    caption_limit = 500


@pytest.fixture
def fifth():
    platforms.register("fediverse", "Fediverse", f"{__name__}.Fediverse", production_url="https://fediverse.invalid")
    yield
    platforms.unregister("fediverse")


def test_a_registered_platform_is_everywhere_the_list_is_read(fifth):
    assert "fediverse" in platforms.names()
    assert ("fediverse", "Fediverse") in Channel._meta.get_field("platform").choices
    assert "fediverse" in faults.TARGETS
    assert get_breaker("fediverse").name == "fediverse"  # breaker defaults, no setting needed
    channel = Channel(platform="fediverse", name="Fediverse", account_id="me")
    channel.full_clean(exclude=["team"])
    assert isinstance(platforms.adapter_for(channel), Fediverse)


def test_a_fifth_platform_publishes_through_the_sandbox(fifth, in_process, publication_on, settings):
    settings.SANDBOX_PROCESSING_SECONDS = 0
    publication = publication_on("fediverse")

    assert runner.run(PUBLISH, publication.pk) == "succeeded"
    publication.refresh_from_db()
    if publication.state == Publication.State.PROCESSING:
        assert runner.run(POLL, publication.pk) == "succeeded"
        publication.refresh_from_db()

    assert publication.state == Publication.State.PUBLISHED
    post = SandboxPost.objects.get()
    assert (post.platform, post.remote_id) == ("fediverse", publication.remote_id)
    assert post.sha256 and post.size_bytes == publication.asset.video.size


def test_an_unknown_platform_is_named_in_the_error():
    with pytest.raises(platforms.UnknownPlatform, match="'mastodon' is not registered; registered: youtube"):
        platforms.get("mastodon")
