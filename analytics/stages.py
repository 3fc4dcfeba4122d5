"""Metric readback: one job per scheduled reading, behind the `metrics` breaker."""

from django.utils import timezone

from analytics.models import MetricReadback
from phantoms.runner import StageHandler
from publishing.providers import get_platform_client


class ReadbackStage(StageHandler):
    name = "analytics"
    queue = "analytics"
    model = MetricReadback
    states = (MetricReadback.State.SCHEDULED,)
    job_path = "analytics.jobs.run_readback"

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


READBACK = ReadbackStage()
