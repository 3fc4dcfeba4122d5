"""Publishing through errors, 429s and accepted-then-lost responses: nothing lost, nothing posted twice."""

import io

import pytest
from django.core.management import call_command

from phantoms.engine.models import DeadLetter, StageAttempt
from pipeline.models import Asset
from publishing.models import Publication
from sandbox.faults import clear_faults, fault_counts, set_faults
from sandbox.models import SandboxPost
from sandbox.services import ledger_summary
from tests.chaos.common import PLATFORMS, all_in, platform_channels, review_all, states, submit
from tests.helpers import drain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.chaos]

ASSETS = 32
TERMINAL = list(Publication.TERMINAL)


def test_faulty_platforms_lose_nothing_and_never_double_post(chaos_settings):
    channels = platform_channels()

    def channels_for(i):
        # Even assets go to one platform, odd ones to two (never twice to one platform: the ledger
        # counts a second post of an asset on a platform as a duplicate).
        names = [PLATFORMS[i % 4]] if i % 2 == 0 else [PLATFORMS[i % 4], PLATFORMS[(i + 1) % 4]]
        return [channels[name] for name in names]

    pks = submit(ASSETS, channels_for)
    publications = review_all(pks)
    total = len(publications)
    assert total == ASSETS // 2 + 2 * (ASSETS - ASSETS // 2) == 48

    for platform in PLATFORMS:
        set_faults(platform, error_rate=0.3, rate_limit_rate=0.1, accept_then_timeout_rate=0.1, retry_after=1)
    assert drain(lambda: not Publication.objects.filter(pk__in=publications).exclude(state__in=TERMINAL).exists(),
                 timeout=150), states(Publication, pk__in=publications)

    fired = {kind: sum(fault_counts(p).get(kind, 0) for p in PLATFORMS)
             for kind in ("error", "rate_limit", "accept_then_timeout")}
    assert all(fired.values()), fired

    published = Publication.objects.filter(pk__in=publications, state=Publication.State.PUBLISHED)
    stopped = Publication.objects.filter(pk__in=publications).exclude(state=Publication.State.PUBLISHED)
    letters = DeadLetter.objects.filter(publication__in=publications, status=DeadLetter.Status.OPEN)
    assert published.count() + stopped.count() == total
    # Every publication that did not make it has exactly one open letter that says why.
    assert letters.count() == stopped.count()
    assert set(letters.values_list("publication_id", flat=True)) == set(stopped.values_list("pk", flat=True))
    assert not letters.filter(error_message="").exists()
    assert all(p.last_error for p in stopped)
    # Assets settle from their publications: published only when every channel is.
    for asset in Asset.objects.filter(pk__in=pks):
        pub_states = set(asset.publications.values_list("state", flat=True))
        if pub_states == {Publication.State.PUBLISHED}:
            assert asset.state == Asset.State.PUBLISHED
        elif Publication.State.PUBLISHED in pub_states:
            assert asset.state == Asset.State.PARTIALLY_PUBLISHED
        else:
            assert asset.state == Asset.State.FAILED

    requeued = letters.count()
    clear_faults()
    out = io.StringIO()
    call_command("requeue_dead_letters", stdout=out)
    assert f"requeued {requeued} of {requeued} dead letter(s)" in out.getvalue()
    assert drain(lambda: all_in(Asset, pks, Asset.State.PUBLISHED), timeout=60), states(Publication,
                                                                                       pk__in=publications)

    assert all_in(Publication, publications, Publication.State.PUBLISHED)
    assert not DeadLetter.objects.filter(status=DeadLetter.Status.OPEN).exists()
    ledger = ledger_summary()
    assert (ledger["posts"], ledger["duplicates"]) == (total, 0), ledger["duplicated_assets"]
    # Each publication adopted exactly one post, including the posts whose response was lost (found
    # by asking the platform about the stored handle, not posted again).
    adopted = sorted(Publication.objects.filter(pk__in=publications).values_list("remote_id", flat=True))
    assert adopted == sorted(SandboxPost.objects.values_list("remote_id", flat=True))
    # The fault also drops chunk uploads half-way (no post comes of those), so only some of its firings
    # are posts whose answer was lost; every one of those was adopted above, none posted again.
    assert 0 < SandboxPost.objects.filter(response_lost=True).count() <= fired["accept_then_timeout"]
    assert StageAttempt.objects.filter(publication__in=publications, stage="publish",
                                       outcome="succeeded").count() == total
    assert not StageAttempt.objects.filter(outcome=StageAttempt.Outcome.RUNNING).exists()


def test_a_requeued_letter_asks_the_platform_before_posting_again(chaos_settings):
    """Accepted but the response lost, then every lookup failed: the requeue must find the post, not repost."""
    # Once its breaker opens, the publication waits for X without being charged; a short retry window
    # ends the wait, with a person to decide (the first post may have gone out).
    chaos_settings.STAGE_RETRY_WINDOWS = {"publish": 3}
    channel = platform_channels()["x"]
    [pk] = submit(1, lambda i: [channel])
    [publication] = review_all([pk])

    # X's post is the last of several calls (media INIT, APPEND, FINALIZE, STATUS): lose only the post's answer.
    set_faults("x", accept_then_timeout_rate=1.0, lost_answers_on_posts_only=True)
    assert drain(lambda: SandboxPost.objects.filter(response_lost=True).exists(), timeout=60)
    set_faults("x", accept_then_timeout_rate=0.0, error_rate=1.0)
    assert drain(lambda: Publication.objects.filter(pk=publication, state="needs_attention").exists(), timeout=60), \
        Publication.objects.filter(pk=publication).values("state", "attempts", "last_error", "handles").get()
    letter = DeadLetter.objects.get(publication=publication, status=DeadLetter.Status.OPEN)
    assert letter.error_class == "needs_attention" and "(HTTP 500)" in letter.error_message
    [lost] = SandboxPost.objects.all()
    assert lost.response_lost

    clear_faults()
    call_command("requeue_dead_letters", stdout=io.StringIO())
    assert drain(lambda: all_in(Asset, [pk], Asset.State.PUBLISHED), timeout=30)
    assert SandboxPost.objects.count() == 1
    assert Publication.objects.get(pk=publication).remote_id == lost.remote_id
