"""RQ entry points of the engine: load by id, call the runner or a service. Nothing else lives here."""

from rq import get_current_job

from . import registry
from .runner import run
from .services.reconciler import reconcile as reconcile_all


def run_stage(pk: int, stage: str) -> str:
    """The one job function: run the registered stage `stage` on row `pk`."""
    job = get_current_job()
    return run(registry.get_stage(stage), pk, job.id if job else "")


def reconcile() -> dict:
    return reconcile_all()
