"""Apply an FSM transition and record it: who, when, from, to, why. The caller saves the object.

A model whose transitions are recorded says which asset (and publication) a record belongs to with
`transition_owner()`, e.g. `{"asset_id": 7}` or `{"asset_id": 7, "publication": <Publication 12>}`.
"""

import threading
from contextlib import contextmanager

from .models import TransitionLog

_batch = threading.local()


def transit(obj, name: str, *, by=None, actor: str = "", reason: str = "", **kwargs):
    from_state = obj.state
    getattr(obj, name)(**kwargs)
    record = TransitionLog(
        **obj.transition_owner(),
        from_state=from_state,
        to_state=obj.state,
        by=by if getattr(by, "pk", None) else None,
        actor=actor or (by.get_username() if getattr(by, "pk", None) else "system"),
        reason=reason[:5000],
    )
    pending = getattr(_batch, "records", None)
    if pending is None:
        record.save(force_insert=True)
    else:
        pending.append(record)
    return obj


@contextmanager
def recorded_together():
    """Transitions applied inside the block are recorded in one INSERT when it ends.

    For code that makes several transitions in one transaction (a render that is auto-approved and
    starts publishing, an upload answered with a live post). Use inside that transaction: if the
    block raises, nothing is recorded, as the transaction will not commit either.
    """
    outer = getattr(_batch, "records", None)
    if outer is not None:  # already batching: the outermost block writes
        yield
        return
    _batch.records = []
    try:
        yield
        records = _batch.records
    finally:
        _batch.records = None
    if records:
        TransitionLog.objects.bulk_create(records)
