"""Patience by time as well as by count, and breakers that hold a stage back before its budget is spent.

(docs/architecture.md, "Failure classes" and "Breakers")
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from phantoms.engine import runner
from phantoms.engine.models import DeadLetter, StageAttempt
from phantoms.resilience.breakers import Breaker, forget_breakers, get_breaker
from phantoms.resilience.errors import TransientError
from pipeline.models import Asset
from tests.factories import make_asset
from tests.test_runner import ScriptedStage

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def patient(settings):
    """Script retries for a minute and at least twice; its breaker opens on the third failure in a row."""
    settings.STAGE_ATTEMPTS = {"script": 2}
    settings.STAGE_RETRY_WINDOWS = {"script": 60}
    settings.BREAKERS = {**settings.BREAKERS, "openai": {"fail_max": 3, "reset_timeout": 60, "success_threshold": 1}}
    forget_breakers()
    yield settings
    forget_breakers()


def failing_for(asset, seconds):
    Asset.objects.filter(pk=asset.pk).update(failing_since=timezone.now() - timedelta(seconds=seconds))


def down(n=10):
    return [TransientError("503 from the provider", provider="openai", status_code=503)] * n


def test_transient_failures_are_retried_until_budget_and_window_are_both_spent(patient):
    asset = make_asset(Asset.State.SCRIPTING)
    stage = ScriptedStage(down())
    for _ in range(4):  # twice the budget, still inside the window
        assert runner.run(stage, asset.pk) == "retrying"
    asset.refresh_from_db()
    assert asset.attempts == 4 and asset.failing_since is not None
    first_failure = asset.failing_since
    assert runner.run(stage, asset.pk) == "retrying"
    asset.refresh_from_db()
    assert asset.failing_since == first_failure  # the window counts from the first failure of the run

    failing_for(asset, 61)
    assert runner.run(stage, asset.pk) == "dead_lettered"
    letter = DeadLetter.objects.get(asset=asset)
    assert letter.attempts == 6 and letter.error_class == "transient"
    asset.refresh_from_db()
    assert asset.state == Asset.State.FAILED and asset.failing_since is None


def test_a_success_ends_the_run_of_failures(patient):
    asset = make_asset(Asset.State.SCRIPTING)
    stage = ScriptedStage([*down(1), "ok"])
    assert runner.run(stage, asset.pk) == "retrying"
    assert runner.run(stage, asset.pk) == "succeeded"
    asset.refresh_from_db()
    assert asset.failing_since is None and asset.attempts == 0


def test_the_breaker_opens_before_the_budget_is_spent(patient):
    patient.STAGE_RETRY_WINDOWS = {}  # the budget alone: 2, raised to the breaker's fail_max + 1
    asset = make_asset(Asset.State.SCRIPTING)
    stage = ScriptedStage(down(), breaker="openai")
    assert [runner.run(stage, asset.pk) for _ in range(3)] == ["retrying"] * 3
    assert get_breaker("openai").status().state == "open"
    # From here the breaker holds the row back; nothing is charged, nothing is dead-lettered.
    assert [runner.run(stage, asset.pk) for _ in range(3)] == ["breaker_open"] * 3
    asset.refresh_from_db()
    assert stage.calls == 3 and asset.attempts == 3 and asset.state == Asset.State.SCRIPTING
    assert not DeadLetter.objects.exists()


def test_a_call_that_fails_after_another_process_opened_the_breaker_is_not_charged(patient):
    asset = make_asset(Asset.State.SCRIPTING)

    class OutageRecognisedMeanwhile(ScriptedStage):
        def work(self, asset, ctx):
            self.calls += 1
            Breaker("openai").force_open(actor="another worker's fifth failure")
            raise TransientError("503 from the provider", provider="openai", status_code=503)

    stage = OutageRecognisedMeanwhile([], breaker="openai")
    assert runner.run(stage, asset.pk) == "breaker_open"
    asset.refresh_from_db()
    assert stage.calls == 1 and asset.attempts == 0
    attempt = StageAttempt.objects.get(asset=asset)
    assert attempt.outcome == "breaker_open" and "already open" in attempt.error
    assert 50 < (asset.next_run_at - timezone.now()).total_seconds() <= 61  # until the next probe


def test_an_outage_longer_than_the_window_ends_in_a_dead_letter_that_says_so(patient):
    asset = make_asset(Asset.State.SCRIPTING)
    stage = ScriptedStage(down(), breaker="openai")
    get_breaker("openai").force_open(actor="ops")
    assert runner.run(stage, asset.pk) == "breaker_open"  # the window starts with the first deferral
    asset.refresh_from_db()
    assert asset.failing_since is not None and asset.attempts == 0

    failing_for(asset, 61)
    assert runner.run(stage, asset.pk) == "dead_lettered"
    assert stage.calls == 0
    letter = DeadLetter.objects.get(asset=asset)
    assert letter.error_class == "breaker_open"
    assert re.search(r"gave up after 1 min \d+ s of failures \(retry window 1 min 0 s\)", letter.error_message)
    assert "openai breaker is open" in letter.error_message


def test_publishing_is_patient_for_an_hour_by_default(settings):
    from publishing.stages import PUBLISH

    assert settings.STAGE_RETRY_WINDOWS["publish"] == 3600 and PUBLISH.retry_window() == 3600
    assert settings.STAGE_ATTEMPTS["publish"] > settings.BREAKER_DEFAULTS["fail_max"]
