"""The engine's records: what a stage job claims, and what explains every step an asset took.

The database is the truth (docs/architecture.md, "Truth and transport"): the lease a worker holds,
the job that should run next, every transition, every attempt and every failure live here, so Redis
can be flushed at any moment. Transitions, attempts and dead letters point at the asset (and
publication) they explain by model name, not by import: the engine imports no app.

The tables keep the names they had before the engine owned them (`pipeline_*`, `phantoms_*`).
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Leased(models.Model):
    """Fields a stage job uses to claim a row and the reconciler uses to find lost work."""

    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    job_id = models.CharField(max_length=64, blank=True, help_text="The RQ job that should run this stage next.")
    next_run_at = models.DateTimeField(null=True, blank=True, help_text="When that job is due (deferrals).")
    attempts = models.PositiveIntegerField(default=0, help_text="Failed attempts at the current stage.")
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="When the current run of failures at this stage began (its retry window).")
    last_error = models.TextField(blank=True)

    class Meta:
        abstract = True


def due_index(name: str) -> models.Index:
    """The index behind the reconciler's one query per stage: rows in a state, by when their job is due.

    A model that moves through stages (subclasses `Leased`) lists it in its own Meta.indexes.
    """
    return models.Index(fields=["state", "next_run_at"], name=name)


class TransitionLog(models.Model):
    asset = models.ForeignKey("pipeline.Asset", on_delete=models.CASCADE, related_name="transitions")
    publication = models.ForeignKey("publishing.Publication", null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="transitions")
    from_state = models.CharField(max_length=30)
    to_state = models.CharField(max_length=30)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+")
    actor = models.CharField(max_length=150, blank=True, help_text="The person or process that made it.")
    reason = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    # Scoping by team (the accounts app) follows the asset.
    team_field = "asset__team"

    class Meta:
        db_table = "pipeline_transitionlog"
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.from_state} → {self.to_state}"


class StageAttempt(models.Model):
    class Outcome(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        TRANSIENT = "transient"
        RATE_LIMITED = "rate_limited"
        NOT_READY = "not_ready"
        BREAKER_OPEN = "breaker_open"
        PERMANENT = "permanent"
        UNKNOWN_OUTCOME = "unknown_outcome"
        SUPERSEDED = "superseded"
        ERROR = "error"
        # Its worker was lost (SIGKILL, a dead machine): the lease lapsed with the attempt still running.
        ABANDONED = "abandoned"

    asset = models.ForeignKey("pipeline.Asset", on_delete=models.CASCADE, related_name="stage_attempts")
    publication = models.ForeignKey("publishing.Publication", null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="stage_attempts")
    stage = models.CharField(max_length=20, db_index=True)
    provider = models.CharField(max_length=40, blank=True)
    number = models.PositiveIntegerField(help_text="Which attempt at this stage (deferrals do not count).")
    job_id = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=120, blank=True)
    lease_token = models.CharField(max_length=64, blank=True,
                                   help_text="The lease the attempt ran under: while no row holds it, nobody runs it.")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.RUNNING, db_index=True)
    error = models.TextField(blank=True)

    team_field = "asset__team"

    class Meta:
        db_table = "pipeline_stageattempt"
        ordering = ["started_at", "id"]
        # The dashboard's 24-hour throughput and durations filter on these (phantoms.engine.selectors).
        indexes = [models.Index(fields=["started_at"], name="attempt_started_at"),
                   models.Index(fields=["finished_at"], name="attempt_finished_at")]

    def __str__(self):
        return f"{self.stage} #{self.number}: {self.outcome}"


class DeadLetter(models.Model):
    """A stage that will not succeed on its own: everything an operator needs to decide, and requeue."""

    class Status(models.TextChoices):
        OPEN = "open"
        REQUEUED = "requeued"
        DISCARDED = "discarded"

    asset = models.ForeignKey("pipeline.Asset", on_delete=models.CASCADE, related_name="dead_letters")
    publication = models.ForeignKey("publishing.Publication", null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="dead_letters")
    stage = models.CharField(max_length=20, db_index=True)
    queue = models.CharField(max_length=40, db_index=True)
    platform = models.CharField(max_length=20, blank=True, db_index=True)
    job_id = models.CharField(max_length=64, blank=True)
    error_class = models.CharField(max_length=40, db_index=True)
    error_message = models.TextField()
    traceback = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    first_failed_at = models.DateTimeField()
    last_failed_at = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    requeued_at = models.DateTimeField(null=True, blank=True)
    requeued_by = models.CharField(max_length=150, blank=True)
    token = models.UUIDField(default=uuid.uuid4, editable=False)

    team_field = "asset__team"

    class Meta:
        db_table = "pipeline_deadletter"
        ordering = ["-last_failed_at", "-id"]
        permissions = [("requeue_deadletter", "Can requeue or discard dead letters"),
                       ("view_deadletter_traceback", "Can see the server tracebacks of dead letters")]

    def __str__(self):
        return f"{self.stage} of {self.asset_id}: {self.error_class}"


class BreakerEvent(models.Model):
    """A breaker changed state: which one, from what, to what, and the error that did it."""

    name = models.CharField(max_length=40, db_index=True)
    from_state = models.CharField(max_length=20)
    to_state = models.CharField(max_length=20)
    error = models.TextField(blank=True)
    actor = models.CharField(max_length=150, blank=True, help_text="Set when a person forced the change.")
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "phantoms_breakerevent"
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.name}: {self.from_state} → {self.to_state}"


class Breaker(models.Model):
    """No table: gives the breakers page an admin entry and the `manage_breakers` permission."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("manage_breakers", "Can open, close and reset circuit breakers"),
                       ("view_breakers", "Can see the circuit breakers")]
        verbose_name = "circuit breaker"

    def __str__(self):
        return "circuit breakers"
