from rq import get_current_job

from analytics.stages import READBACK
from phantoms.runner import run


def run_readback(readback_id: int, stage: str = "analytics") -> str:
    job = get_current_job()
    return run(READBACK, readback_id, job.id if job else "")
