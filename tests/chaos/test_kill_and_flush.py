"""SIGKILL a worker inside each stage, flush Redis once, reconcile as the scheduler would: nothing lost."""

import time

import pytest

from phantoms.engine.models import StageAttempt, TransitionLog
from phantoms.engine.services.reconciler import reconcile
from pipeline.models import Asset
from pipeline.services.review import approve_asset
from publishing.models import Publication
from sandbox.faults import clear_faults, set_faults
from sandbox.services import ledger_summary
from tests.chaos.common import all_in, platform_channels, submit
from tests.helpers import flush_redis
from tests.workers import kill_group, start_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.chaos]

# Script and voice go through the sandbox's OpenAI protocol, so added latency holds each stage's lease
# open long enough to be caught; the first asset renders with the real ffmpeg, the others instantly.
REAL = {"script": "openai", "voice": "openai", "render": "ffmpeg"}
QUICK = {"script": "openai", "voice": "openai", "render": "instant"}
SLOW_MS = 2500
WORKER_ENV = {"HTTP_READ_TIMEOUT": 6, "OPENAI_TIMEOUT": 6, "OPENAI_TTS_TIMEOUT": 6}


def leased(model, **filters):
    """The lease token of a row leased in the given state, or ''."""
    return model.objects.filter(lease_owner__gt="", **filters).values_list("lease_owner", flat=True).first() or ""


def caught(model, **filters):
    """True once a row has held the same lease for a while: its stage's call is in flight (the calls
    under test take SLOW_MS), which is the moment to pull the plug."""
    def predicate():
        token = leased(model, **filters)
        if not token:
            return False
        time.sleep(0.6)
        return leased(model, **filters) == token
    return predicate


def test_sigkill_in_every_stage_and_a_flush_lose_nothing(sandbox):
    channels = platform_channels()
    targets = [channels["youtube"], channels["x"]]
    pks = submit(1, lambda i: targets, providers=REAL, prefix="Real render") + \
        submit(2, lambda i: targets, providers=QUICK, prefix="Quick render")
    real = pks[0]
    killed = []

    def crash_when(predicate, timeout=90):
        worker = start_worker(sandbox, **WORKER_ENV)
        try:
            assert wait_for(predicate, timeout=timeout, every=0.05, between=reconcile), \
                list(Asset.objects.filter(pk__in=pks).values_list("state", "lease_owner", "last_error"))
        finally:
            kill_group(worker)
        killed.append(worker.returncode)

    set_faults("openai", latency_ms=SLOW_MS)
    crash_when(caught(Asset, state=Asset.State.SCRIPTING))
    clear_faults("openai")

    set_faults("tts", latency_ms=SLOW_MS)
    crash_when(caught(Asset, state=Asset.State.VOICING))
    clear_faults("tts")
    flush_redis()  # every queued and scheduled job is gone; only the database remembers

    crash_when(caught(Asset, pk=real, state=Asset.State.RENDERING, render_progress__gt=0))

    worker = start_worker(sandbox, **WORKER_ENV)
    try:
        assert wait_for(lambda: all_in(Asset, pks, Asset.State.AWAITING_REVIEW), timeout=120, every=0.5,
                        between=reconcile), list(Asset.objects.filter(pk__in=pks).values_list("state", "last_error"))
    finally:
        kill_group(worker)
    for pk in pks:
        approve_asset(pk)
    publications = list(Publication.objects.filter(asset__in=pks).values_list("pk", flat=True))
    assert len(publications) == 6

    set_faults("youtube", latency_ms=SLOW_MS)  # the sandbox records the post after the client is gone
    crash_when(caught(Publication, state=Publication.State.UPLOADING, channel__platform="youtube"))
    clear_faults("youtube")

    worker = start_worker(sandbox, **WORKER_ENV)
    try:
        assert wait_for(lambda: all_in(Asset, pks, Asset.State.PUBLISHED), timeout=90, every=0.5,
                        between=reconcile), list(Publication.objects.values_list("state", "last_error"))
    finally:
        kill_group(worker)

    assert killed == [-9, -9, -9, -9]
    assert all_in(Publication, publications, Publication.State.PUBLISHED)
    ledger = ledger_summary()
    assert (ledger["posts"], ledger["duplicates"]) == (6, 0), ledger["duplicated_assets"]
    # A render records its attempt as it starts: the killed one is closed as abandoned once its lease lapsed.
    assert not StageAttempt.objects.filter(outcome="running").exists()
    assert list(StageAttempt.objects.filter(outcome="abandoned").values_list("asset", "stage")) == [(real, "render")]
    for pk in pks:
        for stage in ("script", "voice", "render"):
            assert StageAttempt.objects.filter(asset=pk, stage=stage, outcome="succeeded").count() == 1, (pk, stage)
    for pk in publications:
        assert StageAttempt.objects.filter(publication=pk, stage="publish", outcome="succeeded").count() == 1
        # A post found live by the retry's lookup goes live with the upload's commit, without a poll.
        assert StageAttempt.objects.filter(publication=pk, stage="poll", outcome="succeeded").count() <= 1
        assert TransitionLog.objects.filter(publication=pk, to_state=Publication.State.PUBLISHED).count() == 1
    assert not Asset.objects.filter(lease_owner__gt="").exists()
    assert not Publication.objects.filter(lease_owner__gt="").exists()
