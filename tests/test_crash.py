"""A worker SIGKILLed mid-stage and Redis flushed: every asset still completes, nothing posts twice."""

import pytest

from phantoms.engine.services.reconciler import reconcile
from pipeline.models import Asset
from pipeline.services.briefs import submit_brief
from pipeline.services.review import approve_asset
from publishing.models import Publication
from sandbox.services import ledger_summary
from tests.factories import make_channel
from tests.helpers import flush_redis
from tests.workers import kill_group, start_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def leased_in(state):
    return Asset.objects.filter(state=state, lease_owner__gt="").exists()


def test_sigkill_mid_render_and_flushall_lose_nothing(sandbox, settings):
    settings.LEASE_SECONDS = 4
    channels = [make_channel("youtube"), make_channel("x")]
    pks = [submit_brief(brief=f"Crash-proof brief number {n}", channels=channels,
                       target_duration_seconds=8)[0].pk for n in range(3)]

    worker = start_worker(sandbox)
    try:
        assert wait_for(lambda: leased_in(Asset.State.RENDERING), timeout=90), "no render started"
    finally:
        kill_group(worker)  # SIGKILL: no cleanup, the lease stays behind
    flush_redis()  # and every queued or scheduled job is gone with it

    stranded = Asset.objects.filter(pk__in=pks).exclude(state="awaiting_review")
    assert stranded.exists()
    assert Asset.objects.filter(pk__in=pks, state="rendering", lease_owner__gt="").exists()

    worker = start_worker(sandbox)
    try:
        done = wait_for(lambda: Asset.objects.filter(pk__in=pks, state="awaiting_review").count() == 3,
                        timeout=180, every=0.5, between=reconcile)
        assert done, list(Asset.objects.filter(pk__in=pks).values_list("state", "last_error"))
        for pk in pks:
            approve_asset(pk)
        # Kill again while publishing, flush again.
        wait_for(lambda: Publication.objects.filter(asset__in=pks).exclude(state="pending").exists(), timeout=30)
        kill_group(worker)
        flush_redis()
        worker = start_worker(sandbox)
        done = wait_for(lambda: Asset.objects.filter(pk__in=pks, state="published").count() == 3,
                        timeout=120, every=0.5, between=reconcile)
        assert done, list(Publication.objects.filter(asset__in=pks).values_list("state", "last_error"))
    finally:
        kill_group(worker)

    ledger = ledger_summary()
    assert ledger["posts"] == 6 and ledger["duplicates"] == 0
    for pk in pks:
        asset = Asset.objects.get(pk=pk)
        assert asset.stage_attempts.filter(stage="render", outcome="succeeded").count() == 1
