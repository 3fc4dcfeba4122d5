"""What happens to a claimed row after its stage ran: the outcome written, or the failure classified.

- success: one conditional UPDATE of the fields the outcome changed, with the attempt, the
  transitions and the next job in the same commit (`commit_outcome`);
- a wait (rate limit, open breaker, work not ready): the row is handed back with a later job (`defer`);
- a transient failure: backoff with jitter until the stage has spent both its attempt budget and its
  retry window, then a dead letter (`retry_or_dead_letter`);
- an open breaker: a deferral to the breaker's next probe that charges no attempt, until the stage's
  retry window is spent (`wait_out_outage`);
- a permanent failure, or a person's decision needed: a dead letter at once (`dead_letter`).
"""

import logging
import pickle
import random
import time
import traceback
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from phantoms.resilience.errors import BreakerOpen, ProviderError, UnknownOutcome

from .claim import clear_lease, release
from .handler import Context, StageHandler
from .models import DeadLetter, StageAttempt
from .queueing import enqueue_on_commit
from .transitions import recorded_together

logger = logging.getLogger("phantoms.runner")


class Superseded(Exception):
    """The row lost its lease or changed state while the stage ran: its outcome must not land."""


def backoff_delay(attempts: int) -> float:
    """Exponential backoff with full jitter: uniform(base, min(cap, base * 2**attempts))."""
    base, cap = settings.BACKOFF_BASE, settings.BACKOFF_CAP
    return random.uniform(base, max(base, min(cap, base * (2 ** attempts))))


def finish_attempt(attempt, started: float, outcome: str, error: str):
    attempt.finished_at = timezone.now()
    attempt.duration_ms = int((time.monotonic() - started) * 1000)
    attempt.outcome = outcome
    attempt.error = error[:20000]
    if attempt.pk is None:
        attempt.save()  # short stages write their attempt once, when it is over
    else:
        attempt.save(update_fields=["finished_at", "duration_ms", "outcome", "error"])


def commit_outcome(handler: StageHandler, obj, payload, ctx: Context, started: float):
    """Apply the handler's outcome to the row we claimed and write it only if we still hold it.

    One conditional UPDATE of the fields the outcome changed, instead of locking and re-reading the
    row: fields that others wrote while the stage ran (render progress, the render spec, an editor's
    change) are not overwritten, and a lost lease rolls back everything the outcome did, including
    its transition records and the next stage's job. The attempt's record lands in the same commit.
    """
    if handler.writes_while_working:
        obj.refresh_from_db(fields=["lease_owner", "state", *handler.writes_while_working])
        if obj.lease_owner != ctx.token or obj.state not in handler.states:
            raise Superseded
    claimed_state = obj.state
    before = _snapshot(obj)
    with transaction.atomic():
        obj.next_run_at = None
        obj.failing_since = None
        with recorded_together():
            handler.commit(obj, payload, ctx)
        obj.attempts = 0
        obj.last_error = ""
        changes = _changes(obj, before)
        changes.update(lease_owner="", lease_expires_at=None)
        _touch(type(obj), changes)
        held = handler.model.objects.filter(pk=obj.pk, lease_owner=ctx.token, state=claimed_state)
        if not held.update(**changes):
            raise Superseded
        finish_attempt(ctx.attempt, started, "succeeded", "")
        for hook in ctx.after_write:
            hook()
    release(obj)


def _snapshot(obj) -> dict:
    values = {f.attname: _plain(f, obj) for f in obj._meta.concrete_fields if not f.primary_key}
    # A deep copy, because JSON fields may be changed in place; pickle's is several times faster
    # than copy.deepcopy on scripts and word timings.
    return pickle.loads(pickle.dumps(values, pickle.HIGHEST_PROTOCOL))


def _plain(field, obj):
    value = getattr(obj, field.attname)
    # A FieldFile is renamed in place: compare its name.
    return value.name if isinstance(field, models.FileField) else value


def _changes(obj, before: dict) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields
            if not f.primary_key and _plain(f, obj) != before[f.attname]}


def _touch(model, updates: dict) -> None:
    """A queryset update skips auto_now: write `updated_at` with the change, where the model has it."""
    if any(f.name == "updated_at" for f in model._meta.concrete_fields):
        updates["updated_at"] = timezone.now()


def defer(handler: StageHandler, pk, token, delay: float, *, error: str, attempts: int | None = None,
          failing_since=None):
    """Hand the row back and queue its next run `delay` seconds from now."""
    with transaction.atomic():
        updates = {"lease_owner": "", "lease_expires_at": None,
                   "next_run_at": timezone.now() + timedelta(seconds=delay)}
        if attempts is not None:
            updates["attempts"] = attempts
        if failing_since is not None:
            updates["failing_since"] = failing_since
        if error:
            updates["last_error"] = error[:5000]
        if attempts is not None or error:
            # Lists answer 304 until `updated_at` moves (pipeline.selectors.asset_list_version).
            _touch(handler.model, updates)
        if handler.model.objects.filter(pk=pk, lease_owner=token).update(**updates):
            enqueue_on_commit(handler, pk, delay)


def attempt_budget(handler: StageHandler, obj, exc: BaseException | None = None) -> int:
    """The stage's attempt budget, and never less than its breaker needs to open first.

    A stage that gave up on the same failure that opens its breaker would leave the outage to a
    person; with one attempt more than the breaker's `fail_max`, a row failing alone still trips the
    breaker while it has attempts left, and from then on the breaker, not the budget, holds it back.
    Failures the breaker does not count (a provider that answered, badly) keep the plain budget.
    """
    budget = handler.attempt_budget()
    breaker = handler.breaker_name(obj)
    counted = exc is None or not isinstance(exc, ProviderError) or exc.counts_toward_breaker
    if breaker and counted and breaker in settings.BREAKERS:
        budget = max(budget, int(settings.BREAKERS[breaker]["fail_max"]) + 1)
    return budget


def _took(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s" if minutes else f"{secs} s"


def retry_or_dead_letter(handler: StageHandler, obj, token, exc, ctx: Context) -> str:
    """Retry a failure with backoff until the stage has spent its attempt budget AND its retry window."""
    now = timezone.now()
    attempts = obj.attempts + 1
    failing_since = obj.failing_since or _run_started(ctx, now)
    window = handler.retry_window()
    if attempts >= attempt_budget(handler, obj, exc) and (now - failing_since).total_seconds() >= window:
        if isinstance(exc, UnknownOutcome) or ctx.outcome_uncertain:
            dead_letter(handler, obj.pk, token, exc, ctx, attempts=attempts, attention=True)
            return "needs_attention"
        dead_letter(handler, obj.pk, token, exc, ctx, attempts=attempts)
        return "dead_lettered"
    delay = backoff_delay(attempts)
    defer(handler, obj.pk, token, delay, error=describe(exc), attempts=attempts, failing_since=failing_since)
    return "retrying"


def wait_out_outage(handler: StageHandler, obj, token, exc: BreakerOpen, ctx: Context, delay: float) -> str:
    """An open breaker: wait for its next probe without charging an attempt, within the retry window.

    The window counts from the row's first failure (or first deferral by the breaker), so an outage
    the breaker keeps away from the provider still ends, once the window is spent, in a dead letter
    that says the breaker was open and for how long.
    """
    now = timezone.now()
    failing_since = obj.failing_since or _run_started(ctx, now)
    window = handler.retry_window()
    waited = (now - failing_since).total_seconds()
    if window and waited >= window:
        last = f"; last error: {obj.last_error}" if obj.last_error else ""
        spent = BreakerOpen(f"gave up after {_took(waited)} of failures (retry window {_took(window)}): {exc}{last}",
                            retry_after=exc.retry_after, provider=exc.provider)
        # A person decides only if a call of this run had an unknown outcome: whether the window ran
        # out at a probe or at a rejected call must not change who decides.
        attention = _left_unknown(handler, obj, failing_since)
        dead_letter(handler, obj.pk, token, spent, ctx, attempts=obj.attempts, attention=attention)
        return "needs_attention" if attention else "dead_lettered"
    defer(handler, obj.pk, token, delay, error="", failing_since=failing_since)
    return exc.failure_class


def _run_started(ctx: Context, now):
    """A run of failures begins when its first failed attempt started."""
    started = getattr(ctx.attempt, "started_at", None)
    return min(started, now) if started else now


def _left_unknown(handler: StageHandler, obj, since) -> bool:
    """Whether a call in this run of failures may have taken effect unseen: then a person decides."""
    return StageAttempt.objects.filter(stage=handler.name, outcome=StageAttempt.Outcome.UNKNOWN_OUTCOME,
                                       started_at__gte=since, **handler.attempt_owner(obj)).exists()


def describe(exc: BaseException) -> str:
    kind = getattr(exc, "failure_class", type(exc).__name__)
    return f"[{kind}] {exc}"


def _error_class(exc: BaseException) -> str:
    return exc.failure_class if isinstance(exc, ProviderError) else type(exc).__name__


def dead_letter(handler: StageHandler, pk, token, exc, ctx: Context, *, attempts: int, attention: bool = False):
    """Fail the row (or park it for a person) and record the letter operators requeue from."""
    with transaction.atomic():
        locked = handler.model.objects.select_for_update().get(pk=pk)
        if locked.lease_owner != token:
            return
        message = describe(exc)
        if attention:
            handler.needs_attention(locked, ctx, message)
        else:
            handler.fail(locked, ctx, message)
        clear_lease(locked)
        locked.failing_since = None
        locked.attempts = attempts
        locked.last_error = message
        locked.save()
        now = timezone.now()
        owner = handler.attempt_owner(locked)
        tb = "".join(traceback.format_exception(exc))
        error_class = "needs_attention" if attention else _error_class(exc)
        letter = DeadLetter.objects.filter(status=DeadLetter.Status.OPEN, stage=handler.name, **owner).first()
        if letter:
            letter.attempts += attempts
            letter.last_failed_at = now
            letter.error_class, letter.error_message, letter.traceback = error_class, str(exc), tb
            letter.job_id = ctx.job_id
            letter.save()
        else:
            DeadLetter.objects.create(
                stage=handler.name, queue=handler.queue, platform=handler.platform(locked), job_id=ctx.job_id,
                error_class=error_class, error_message=str(exc)[:20000], traceback=tb, attempts=attempts,
                first_failed_at=now, last_failed_at=now, **owner,
            )
    logger.warning("%s %s: %s after %d attempts: %s", handler.name, pk,
                   "needs attention" if attention else "dead-lettered", attempts, exc)
