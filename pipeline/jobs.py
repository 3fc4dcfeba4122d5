"""RQ entry points: load by id, call the runner or a service. Nothing else lives here."""

from rq import get_current_job

from phantoms.runner import run
from pipeline.stages import STAGES


def run_asset_stage(asset_id: int, stage: str) -> str:
    job = get_current_job()
    return run(STAGES[stage], asset_id, job.id if job else "")


def reconcile() -> dict:
    from pipeline.services.reconciler import reconcile as reconcile_all

    return reconcile_all()
