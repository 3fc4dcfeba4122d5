"""The stage runner's contract: claim once, classify every failure, never burn attempts on deferrals."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from phantoms.engine import claim, outcome, runner
from phantoms.engine.handler import StageHandler
from phantoms.engine.models import DeadLetter, StageAttempt
from phantoms.engine.transitions import transit
from phantoms.resilience.breakers import get_breaker
from phantoms.resilience.errors import PermanentError, RateLimited, TransientError
from pipeline.models import Asset
from tests.factories import advance, make_asset
from tests.helpers import queues

pytestmark = pytest.mark.django_db(transaction=True)


class ScriptedStage(StageHandler):
    """A stage over real assets whose provider call does what the test says, and counts calls."""

    name = "script"
    queue = "script"
    model = Asset
    states = (Asset.State.SCRIPTING,)

    def __init__(self, outcomes, breaker=None):
        self.outcomes = list(outcomes)
        self.calls = 0
        self.breaker = breaker

    def breaker_name(self, asset):
        return self.breaker

    def work(self, asset, ctx):
        self.calls += 1
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome == "slow":
            import time

            time.sleep(0.5)
        return outcome

    def commit(self, asset, payload, ctx):
        asset.script = {"payload": payload}
        transit(asset, "script_done", actor="test")

    def fail(self, asset, ctx, error):
        asset.failed_stage = self.name
        transit(asset, "fail", actor="test", reason=error)


def scheduled_jobs(queue_name="script"):
    queue = [q for q in queues() if q.name == queue_name][0]
    return queue.scheduled_job_registry.count + queue.count


def test_success_commits_outcome_and_transition_once():
    asset = make_asset(Asset.State.SCRIPTING)
    stage = ScriptedStage(["ok"])
    assert runner.run(stage, asset.pk) == "succeeded"
    assert runner.run(stage, asset.pk) == "skipped"  # the asset moved on: a second copy does nothing
    asset.refresh_from_db()
    assert asset.state == Asset.State.VOICING
    assert stage.calls == 1
    assert asset.lease_owner == "" and asset.lease_expires_at is None
    assert list(asset.stage_attempts.values_list("outcome", flat=True)) == ["succeeded"]
    assert list(asset.transitions.values_list("to_state", flat=True)) == ["scripting", "voicing"]


@pytest.mark.skipif("connection.vendor == 'sqlite'", reason="row locks need PostgreSQL")
def test_two_concurrent_copies_have_one_effect():
    asset = make_asset(Asset.State.SCRIPTING)
    stage = ScriptedStage(["slow", "slow"])
    results = []

    def go():
        results.append(runner.run(stage, asset.pk))
        connection.close()

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["skipped", "succeeded"]
    assert stage.calls == 1
    assert StageAttempt.objects.filter(asset=asset).count() == 1


@pytest.mark.parametrize("returning", [True, False], ids=["update-returning", "update-then-select"])
def test_a_claim_takes_a_free_row_once_and_reads_it(monkeypatch, returning):
    # Without RETURNING (SQLite before 3.35) the claim is an UPDATE followed by a read.
    monkeypatch.setattr(claim, "_has_returning", lambda: returning)
    asset = make_asset(Asset.State.SCRIPTING, title="Claimed")
    stage = ScriptedStage([])

    claimed = claim.claim(stage, asset.pk, "worker-a")
    assert (claimed.pk, claimed.state, claimed.title, claimed.lease_owner) == (
        asset.pk, Asset.State.SCRIPTING, "Claimed", "worker-a")
    assert claimed.lease_expires_at > timezone.now()
    assert claim.claim(stage, asset.pk, "worker-b") is None  # leased
    Asset.objects.filter(pk=asset.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert claim.claim(stage, asset.pk, "worker-b").lease_owner == "worker-b"  # expired: taken over
    advance(asset, "script_done")
    Asset.objects.filter(pk=asset.pk).update(lease_owner="", lease_expires_at=None)
    assert claim.claim(stage, asset.pk, "worker-c") is None  # moved on


@pytest.mark.parametrize("returning", [True, False], ids=["update-returning", "update-then-select"])
def test_a_job_claims_only_the_row_that_names_it(monkeypatch, returning):
    monkeypatch.setattr(claim, "_has_returning", lambda: returning)
    asset = make_asset(Asset.State.SCRIPTING)
    Asset.objects.filter(pk=asset.pk).update(job_id="job-2")  # job-1 was replaced by the reconciler
    stage = ScriptedStage([])
    assert claim.claim(stage, asset.pk, "worker-a", job_id="job-1") is None
    assert claim.claim(stage, asset.pk, "worker-a", job_id="job-2").lease_owner == "worker-a"
    Asset.objects.filter(pk=asset.pk).update(lease_owner="", lease_expires_at=None, job_id="")
    assert claim.claim(stage, asset.pk, "worker-b", job_id="job-1").lease_owner == "worker-b"  # names none


def test_live_lease_held_elsewhere_means_nothing_to_do():
    asset = make_asset(Asset.State.SCRIPTING)
    assert claim.claim(ScriptedStage([]), asset.pk, "other-worker")
    stage = ScriptedStage(["ok"])
    assert runner.run(stage, asset.pk) == "skipped"
    assert stage.calls == 0


def test_transient_failure_backs_off_then_dead_letters_after_budget(settings):
    settings.STAGE_ATTEMPTS = {"script": 3}
    settings.STAGE_RETRY_WINDOWS = {}  # the budget alone
    asset = make_asset(Asset.State.SCRIPTING)
    stage = ScriptedStage([TransientError("503 from provider", provider="llm", status_code=503)] * 3)
    assert runner.run(stage, asset.pk) == "retrying"
    asset.refresh_from_db()
    assert asset.attempts == 1 and asset.state == Asset.State.SCRIPTING
    assert asset.next_run_at is not None and asset.job_id
    assert scheduled_jobs() == 1
    assert runner.run(stage, asset.pk) == "retrying"
    assert runner.run(stage, asset.pk) == "dead_lettered"
    asset.refresh_from_db()
    assert asset.state == Asset.State.FAILED and asset.failed_stage == "script"
    letter = DeadLetter.objects.get(asset=asset)
    assert letter.error_class == "transient" and letter.attempts == 3
    assert "503 from provider" in letter.error_message and letter.queue == "script"


def test_permanent_failure_dead_letters_at_once_with_the_providers_message():
    asset = make_asset(Asset.State.SCRIPTING)
    stage = ScriptedStage([PermanentError("content policy violation", provider="llm", status_code=400)])
    assert runner.run(stage, asset.pk) == "dead_lettered"
    letter = DeadLetter.objects.get(asset=asset)
    assert letter.error_class == "permanent" and letter.attempts == 1
    assert "content policy violation" in letter.error_message
    assert "PermanentError" in letter.traceback


def test_rate_limit_defers_without_counting_an_attempt():
    asset = make_asset(Asset.State.SCRIPTING)
    stage = ScriptedStage([RateLimited("slow down", retry_after=30)])
    assert runner.run(stage, asset.pk) == "rate_limited"
    asset.refresh_from_db()
    assert asset.attempts == 0 and asset.state == Asset.State.SCRIPTING
    wait = (asset.next_run_at - asset.updated_at).total_seconds()
    assert 29 <= wait <= 32
    assert scheduled_jobs() == 1


def test_open_breaker_defers_without_calling_or_counting(settings):
    settings.BREAKERS = {**settings.BREAKERS, "openai": {"fail_max": 2, "reset_timeout": 60, "success_threshold": 1}}
    from phantoms.resilience.breakers import forget_breakers

    forget_breakers()
    asset = make_asset(Asset.State.SCRIPTING)
    stage = ScriptedStage([TransientError("down")] * 2, breaker="openai")
    runner.run(stage, asset.pk)
    Asset.objects.filter(pk=asset.pk).update(next_run_at=None)
    runner.run(stage, asset.pk)
    assert get_breaker("openai").status().state == "open"
    calls_before = stage.calls
    asset.refresh_from_db()
    attempts_before = asset.attempts
    assert runner.run(stage, asset.pk) == "breaker_open"
    asset.refresh_from_db()
    assert stage.calls == calls_before
    assert asset.attempts == attempts_before
    assert asset.stage_attempts.last().outcome == "breaker_open"


def test_unexpected_exception_is_recorded_with_traceback_and_retried(settings):
    asset = make_asset(Asset.State.SCRIPTING)
    stage = ScriptedStage([KeyError("hook")])
    assert runner.run(stage, asset.pk) == "retrying"
    attempt = asset.stage_attempts.get()
    assert attempt.outcome == "error" and "KeyError" in attempt.error


def test_commit_after_losing_the_row_is_superseded():
    asset = make_asset(Asset.State.SCRIPTING)

    class CancelMidway(ScriptedStage):
        def work(self, asset, ctx):
            from pipeline.services.review import cancel_asset

            cancel_asset(asset.pk, reason="editor cancelled while scripting")
            return "late"

    assert runner.run(CancelMidway([]), asset.pk) == "superseded"
    asset.refresh_from_db()
    assert asset.state == Asset.State.CANCELLED and asset.script is None


def test_backoff_grows_and_is_capped(settings):
    settings.BACKOFF_BASE, settings.BACKOFF_CAP = 1.0, 10.0
    delays = [outcome.backoff_delay(n) for n in range(1, 8) for _ in range(50)]
    assert all(1.0 <= d <= 10.0 for d in delays)
    assert max(outcome.backoff_delay(1) for _ in range(200)) <= 2.0
    assert max(outcome.backoff_delay(6) for _ in range(200)) > 5.0
