"""Metric readback: one job per scheduled reading, behind the `metrics` breaker."""

from datetime import timedelta

from django.utils import timezone

from analytics.models import MetricReadback
from phantoms.engine.handler import StageHandler
from phantoms.engine.queueing import enqueue_on_commit
from publishing.providers import get_platform_client

# The reconciler looks this far ahead for readings it should have queued.
RECONCILE_HORIZON = timedelta(minutes=5)


class ReadbackStage(StageHandler):
    name = "analytics"
    queue = "analytics"
    model = MetricReadback
    states = (MetricReadback.State.SCHEDULED,)

    def load(self, claimed):
        return self.model.objects.select_related("publication__asset", "publication__channel").get(pk=claimed.pk)

    def provider_name(self, readback):
        return readback.publication.channel.platform

    def breaker_name(self, readback):
        return "metrics"

    def attempt_owner(self, readback):
        return {"asset": readback.publication.asset, "publication": readback.publication}

    def platform(self, readback):
        return readback.publication.channel.platform

    def work(self, readback, ctx):
        client = get_platform_client(readback.publication.channel)
        return client.metrics(readback.publication.remote_id)

    def commit(self, readback, body, ctx):
        readback.views = body.get("views")
        readback.likes = body.get("likes")
        readback.comments = body.get("comments")
        readback.shares = body.get("shares")
        readback.raw = body
        readback.taken_at = timezone.now()
        readback.state = MetricReadback.State.TAKEN

    def fail(self, readback, ctx, error):
        readback.state = MetricReadback.State.FAILED

    def rows_to_reconcile(self):
        return super().rows_to_reconcile().filter(due_at__lte=timezone.now() + RECONCILE_HORIZON)

    def reconcile_delay(self, readback, delay: float) -> float:
        # Due at due_at, or later if a breaker or rate limit deferred it.
        return max(delay, (readback.due_at - timezone.now()).total_seconds(), 0.0)

    def requeue(self, letter, *, user=None, actor: str = "") -> str:
        readbacks = list(MetricReadback.objects.select_for_update().filter(
            publication_id=letter.publication_id, state=MetricReadback.State.FAILED))
        for readback in readbacks:
            readback.state = MetricReadback.State.SCHEDULED
            readback.attempts = 0
            readback.save(update_fields=["state", "attempts"])
            enqueue_on_commit(self, readback.pk)
        return f"{len(readbacks)} readback(s) rescheduled"


READBACK = ReadbackStage()
