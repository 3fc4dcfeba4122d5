"""Metric readback: a job per due reading, batched with the channel's other due readings when the
platform's metrics call takes many posts, behind that platform's own breaker and read rate limit.

A reading's job reads its post and, in the same call, up to `metrics_batch - 1` other posts of the
same channel whose readings are due and unclaimed (YouTube's videos.list and X's post lookup take
many ids per call, TikTok's video/query a list of video ids); their rows are written in the same
commit, and their own jobs then find nothing to do. A metric the platform does not give is stored
as missing; a post the platform reports deleted or private ends its schedule.
"""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from analytics.models import MetricReadback
from phantoms.engine.handler import StageHandler
from phantoms.engine.queueing import enqueue_on_commit
from publishing.platforms import adapter_for

# The reconciler looks this far ahead for readings it should have queued.
RECONCILE_HORIZON = timedelta(minutes=5)
# A companion reading due this soon is taken with the batch rather than by a call of its own.
BATCH_AHEAD = timedelta(minutes=1)


def metrics_adapter(channel):
    """The channel's platform adapter (publishing/platforms, docs/platforms.md): `read_metrics(post_ids)`
    answers {post_id: MetricsReading(values, gone)} in calls of at most `metrics_batch` ids."""
    return adapter_for(channel)


class _Reading:
    """What a post left out of the platform's answer counts as: every metric missing."""

    def __init__(self, values: dict, gone: bool = False):
        self.values, self.gone = values, gone


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
        # The platform's own breaker: an outage of one platform does not stop reading the others.
        return readback.publication.channel.platform

    def rate_limit_key(self, readback):
        channel = readback.publication.channel
        return (f"{channel.platform}_metrics", channel.account_id)

    def attempt_owner(self, readback):
        return {"asset": readback.publication.asset, "publication": readback.publication}

    def platform(self, readback):
        return readback.publication.channel.platform

    def companions(self, readback, limit: int) -> list:
        """Other posts of the channel with a reading due now that nobody holds: one each, oldest due first."""
        if limit <= 0:
            return []
        now = timezone.now()
        rows = (MetricReadback.objects
                .filter(state=MetricReadback.State.SCHEDULED, due_at__lte=now + BATCH_AHEAD,
                        publication__channel_id=readback.publication.channel_id)
                .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
                .exclude(publication_id=readback.publication_id).exclude(publication__remote_id="")
                .select_related("publication__channel").order_by("due_at", "pk")[: limit * 3])
        chosen, seen = [], set()
        for row in rows:
            if row.publication_id not in seen:
                seen.add(row.publication_id)
                chosen.append(row)
            if len(chosen) == limit:
                break
        return chosen

    def work(self, readback, ctx):
        adapter = metrics_adapter(readback.publication.channel)
        batch = max(1, int(getattr(adapter, "metrics_batch", 1) or 1))
        companions = self.companions(readback, batch - 1)
        post_ids = [readback.publication.remote_id, *(c.publication.remote_id for c in companions)]
        return {"readings": adapter.read_metrics(post_ids), "companions": companions, "batch": len(post_ids)}

    def commit(self, readback, payload, ctx):
        from analytics.services import apply_reading  # services import this module for READBACK

        now = timezone.now()
        readings, batch = payload["readings"], payload["batch"]
        apply_reading(readback, self._reading_for(readings, readback), taken_at=now, batch_size=batch,
                      raw=self._raw(readings, readback))
        if not payload["companions"]:
            return
        # Companions are written only if still due and unclaimed; one claimed meanwhile keeps its own run.
        free = (Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        locked = {row.pk: row for row in MetricReadback.objects.select_for_update()
                  .filter(pk__in=[c.pk for c in payload["companions"]], state=MetricReadback.State.SCHEDULED)
                  .filter(free).select_related("publication__channel")}
        for row in locked.values():
            apply_reading(row, self._reading_for(readings, row), taken_at=now, batch_size=batch,
                          raw=self._raw(readings, row))
            row.job_id, row.next_run_at = "", None
            row.save(update_fields=["state", "taken_at", "batch_size", "raw", "job_id", "next_run_at",
                                    "views", "likes", "comments", "shares", "saves", "watch_time_seconds",
                                    "impressions"])

    @staticmethod
    def _reading_for(readings: dict, readback):
        # A post the platform left out of its answer gave no figures: every metric missing.
        return readings.get(readback.publication.remote_id) or _Reading({})

    @staticmethod
    def _raw(readings: dict, readback) -> dict:
        reading = readings.get(readback.publication.remote_id)
        if reading is None:
            return {"missing": "the platform's answer did not include this post"}
        return {"values": dict(getattr(reading, "values", {}) or {}), "gone": bool(getattr(reading, "gone", False))}

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
