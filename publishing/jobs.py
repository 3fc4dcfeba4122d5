from rq import get_current_job

from phantoms.runner import run
from publishing.stages import STAGES


def run_publication_stage(publication_id: int, stage: str) -> str:
    job = get_current_job()
    return run(STAGES[stage], publication_id, job.id if job else "")
