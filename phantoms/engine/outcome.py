"""What happens to a claimed row after its stage ran: the outcome written, or the failure classified.

- success: one conditional UPDATE of the fields the outcome changed, with the attempt, the
  transitions and the next job in the same commit (`commit_outcome`);
- a wait (rate limit, open breaker, work not ready): the row is handed back with a later job (`defer`);
- a transient failure: backoff with jitter until the stage's attempt budget is spent, then a dead
  letter (`retry_or_dead_letter`);
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

from phantoms.resilience.errors import ProviderError, UnknownOutcome

from .claim import clear_lease, release
from .handler import Context, StageHandler
from .models import DeadLetter
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
        with recorded_together():
            handler.commit(obj, payload, ctx)
        obj.attempts = 0
        obj.last_error = ""
        changes = _changes(obj, before)
        changes.update(lease_owner="", lease_expires_at=None)
        if any(f.name == "updated_at" for f in obj._meta.concrete_fields):
            changes["updated_at"] = timezone.now()
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


def defer(handler: StageHandler, pk, token, delay: float, *, error: str, attempts: int | None = None):
    """Hand the row back and queue its next run `delay` seconds from now."""
    with transaction.atomic():
        updates = {"lease_owner": "", "lease_expires_at": None,
                   "next_run_at": timezone.now() + timedelta(seconds=delay)}
        if attempts is not None:
            updates["attempts"] = attempts
        if error:
            updates["last_error"] = error[:5000]
        if handler.model.objects.filter(pk=pk, lease_owner=token).update(**updates):
            enqueue_on_commit(handler, pk, delay)


def retry_or_dead_letter(handler: StageHandler, obj, token, exc, ctx: Context) -> str:
    attempts = obj.attempts + 1
    if attempts >= handler.attempt_budget():
        if isinstance(exc, UnknownOutcome) or ctx.outcome_uncertain:
            dead_letter(handler, obj.pk, token, exc, ctx, attempts=attempts, attention=True)
            return "needs_attention"
        dead_letter(handler, obj.pk, token, exc, ctx, attempts=attempts)
        return "dead_lettered"
    delay = backoff_delay(attempts)
    defer(handler, obj.pk, token, delay, error=describe(exc), attempts=attempts)
    return "retrying"


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
