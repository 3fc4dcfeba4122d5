"""What a stage is: the hooks a stage handler overrides, and the context one run of it carries."""

import threading
from dataclasses import dataclass, field

from django.conf import settings

from phantoms.resilience.errors import UnknownOutcome


class GiveUp(Exception):
    """Raised by a handler when a person has to decide (needs_attention)."""


class Interrupted(Exception):
    """The stage failed while its worker was shutting down: hand the row back, charge nothing."""


# Set by phantoms.worker.Worker when it receives SIGTERM or SIGINT (warm shutdown).
SHUTTING_DOWN = threading.Event()


@dataclass
class Context:
    """One run of a stage on one row: its lease token, its job, its attempt record."""

    token: str
    job_id: str
    attempt: object = None
    # Set by a handler that found an earlier irreversible call whose answer was lost and could not
    # prove what became of it: when the attempts run out, a person decides instead of a dead letter.
    outcome_uncertain: bool = False
    # Run in the outcome's transaction once the row is written (e.g. settle the asset a publication
    # belongs to): after the row's own lock, so locks are taken in the same order as elsewhere.
    after_write: list = field(default_factory=list)


class StageHandler:
    """One stage. Override the hooks; keep provider calls in `work` and state changes in `commit`.

    A handler is registered by name (phantoms.engine.registry) and run by the one job function,
    `phantoms.engine.jobs.run_stage`. The engine decides when it runs again.

    Queue a stage's job only through `phantoms.engine.queueing` (`enqueue_on_commit`, `enqueue`):
    they write the row's `job_id`, and a job claims only the row that names it (docs/architecture.md,
    "Truth and transport"); a job put on a queue by hand finds nothing to do.
    """

    name: str = ""
    queue: str = ""
    model = None
    states: tuple = ()

    # Long stages record their attempt as "running" at once, so the admin shows it while it runs.
    show_running_attempt = False
    # The outcome is written as the difference from the row as claimed. Fields a stage writes to its
    # own row while it works (progress, a remote job's id) are read again before its outcome, or an
    # outcome equal to the stale value would look like no change.
    writes_while_working: tuple[str, ...] = ()

    # --- what the engine asks of the row
    def load(self, claimed):
        """The object the stage works on, given the row as claimed (override to join related rows)."""
        return claimed

    def provider_name(self, obj) -> str:
        return ""

    def breaker_name(self, obj) -> str | None:
        return None

    def rate_limit_key(self, obj) -> tuple[str, str] | None:
        return None

    def attempt_budget(self) -> int:
        """Transient failures tolerated; the engine raises it above the breaker's `fail_max`."""
        return settings.STAGE_ATTEMPTS.get(self.name, 3)

    def retry_window(self) -> float:
        """Seconds of failing (from the first failure of a run) before a dead letter; 0: the budget alone.

        Transient failures are retried until both the budget and the window are spent; deferrals by
        an open breaker charge no attempt but end in a dead letter once the window is spent.
        """
        return float(settings.STAGE_RETRY_WINDOWS.get(self.name, 0))

    def attempt_owner(self, obj) -> dict:
        """The asset (and publication) an attempt or dead letter belongs to."""
        return {"asset": obj}

    def platform(self, obj) -> str:
        return ""

    # --- one run
    def prepare(self, obj, ctx: Context):
        """Commit intent before the external call (e.g. an idempotency key). Runs in its own atomic().

        A stage that writes its row here or in `work` names those fields in `writes_while_working`.
        """

    def work(self, obj, ctx: Context):
        raise NotImplementedError

    def commit(self, obj, payload, ctx: Context):
        """Apply the outcome and transition `obj`; the engine writes the fields that changed."""
        raise NotImplementedError

    def fail(self, obj, ctx: Context, error: str):
        """Transition the locked row to its failed state (dead letter)."""
        raise NotImplementedError

    def on_unknown(self, obj, exc: UnknownOutcome, ctx: Context):
        """An irreversible call's outcome is unknown. Default: treat as transient."""

    def needs_attention(self, obj, ctx: Context, error: str):
        self.fail(obj, ctx, error)

    # --- the engine's housekeeping
    def rows_to_reconcile(self):
        """Rows that should have a live job for this stage (the reconciler checks each)."""
        return self.model.objects.filter(state__in=list(self.states))

    def reconcile_delay(self, row, delay: float) -> float:
        """When the reconciler should run a row it found without a job (seconds from now)."""
        return delay

    def requeue(self, letter, *, user=None, actor: str = "") -> str:
        """Put the row a dead letter names back to work; called with the letter locked. Says what it did."""
        raise NotImplementedError
