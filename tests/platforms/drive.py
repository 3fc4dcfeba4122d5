"""Run a publication's stages in-process, as the workers would, until it settles."""

from phantoms.engine import runner
from publishing.models import Publication
from publishing.stages import POLL, PUBLISH


def step(publication: Publication) -> str:
    """One run of whichever stage the publication is waiting for (its due time ignored)."""
    publication.refresh_from_db()
    Publication.objects.filter(pk=publication.pk).update(next_run_at=None)
    stage = POLL if publication.state == Publication.State.PROCESSING else PUBLISH
    return runner.run(stage, publication.pk)


def settle(publication: Publication, max_runs: int = 30) -> Publication:
    for _ in range(max_runs):
        publication.refresh_from_db()
        if publication.state in Publication.TERMINAL:
            return publication
        step(publication)
    publication.refresh_from_db()
    return publication
