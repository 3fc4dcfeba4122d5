from datetime import timedelta

from django.conf import settings

from analytics.models import MetricReadback
from analytics.stages import READBACK
from phantoms.engine.queueing import enqueue_on_commit


def schedule_readbacks(publication):
    """Create the readings due after publishing (settings.METRIC_READBACK_OFFSETS) and schedule them."""
    base = publication.published_at
    for offset in settings.METRIC_READBACK_OFFSETS:
        readback, created = MetricReadback.objects.get_or_create(
            publication=publication, offset_seconds=offset, defaults={"due_at": base + timedelta(seconds=offset)}
        )
        if created:
            enqueue_on_commit(READBACK, readback.pk, delay=offset)
