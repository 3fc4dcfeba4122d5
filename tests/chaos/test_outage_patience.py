"""An outage shorter than publishing's retry window needs nobody; a longer one ends in dead letters that say so.

Time is scaled down: backoffs of tens of milliseconds, a one-second breaker reset, a window of
seconds where production has an hour. The shapes are the production ones: publishing's budget is
the five attempts that a 20 s outage used up in the demo, and the breaker opens on the fifth failure.
"""

import time

import pytest

from phantoms.engine.models import BreakerEvent, DeadLetter
from phantoms.resilience.breakers import forget_breakers
from pipeline.models import Asset
from publishing.models import Publication
from sandbox.faults import clear_faults, set_faults
from sandbox.services import ledger_summary
from tests.chaos.common import platform_channels, review_all, submit
from tests.helpers import drain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.chaos]


@pytest.fixture
def publishing_patience(chaos_settings):
    chaos_settings.STAGE_ATTEMPTS = {**chaos_settings.STAGE_ATTEMPTS, "publish": 5}
    chaos_settings.BREAKERS = {**chaos_settings.BREAKERS,
                               "tiktok": {"fail_max": 5, "reset_timeout": 1, "success_threshold": 1}}
    forget_breakers()
    return chaos_settings


def one_tiktok_publication():
    channel = platform_channels()["tiktok"]
    [pk] = submit(1, lambda i: [channel])
    [publication] = review_all([pk])
    return pk, publication


def test_an_outage_shorter_than_the_window_needs_nobody(publishing_patience):
    publishing_patience.STAGE_RETRY_WINDOWS = {"publish": 60}
    pk, publication = one_tiktok_publication()
    set_faults("tiktok", outage=True)
    back_at = time.monotonic() + 5
    drain(lambda: time.monotonic() >= back_at, timeout=30)
    during = Publication.objects.get(pk=publication)
    assert during.state != Publication.State.PUBLISHED and during.attempts >= 5  # the old budget, spent
    assert BreakerEvent.objects.filter(name="tiktok", to_state="open").exists()

    clear_faults("tiktok")
    assert drain(lambda: Asset.objects.filter(pk=pk, state=Asset.State.PUBLISHED).exists(), timeout=30)
    assert not DeadLetter.objects.exists()
    assert Publication.objects.get(pk=publication).attempts == 0
    assert (ledger_summary()["posts"], ledger_summary()["duplicates"]) == (1, 0)


def test_an_outage_longer_than_the_window_ends_in_a_dead_letter_that_says_so(publishing_patience):
    publishing_patience.STAGE_RETRY_WINDOWS = {"publish": 4}
    pk, publication = one_tiktok_publication()
    set_faults("tiktok", outage=True)
    assert drain(lambda: Publication.objects.filter(pk=publication).exclude(
        state__in=[Publication.State.PENDING, Publication.State.UPLOADING]).exists(), timeout=30)
    stopped = Publication.objects.get(pk=publication)
    # Failed, not parked for a person: every call was refused outright (503), none left an unknown
    # outcome; a requeue asks the platform for the post before uploading again all the same.
    assert stopped.state == Publication.State.FAILED
    letter = DeadLetter.objects.get(publication=publication)
    assert letter.error_class == "breaker_open"
    assert "gave up after" in letter.error_message and "(retry window 4 s)" in letter.error_message
    assert "tiktok" in letter.error_message and "503" in letter.error_message  # the last error, too
    assert Asset.objects.get(pk=pk).state == Asset.State.FAILED
    assert ledger_summary()["posts"] == 0
