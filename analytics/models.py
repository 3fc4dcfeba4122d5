"""Performance read back from each platform on a schedule after publishing, and its daily rollups."""

from django.db import models

from phantoms.engine.models import Leased, due_index

# The canonical metric names every platform's reading is mapped onto (publishing/platforms' MetricsReading).
METRICS = ("views", "likes", "comments", "shares", "saves", "watch_time_seconds", "impressions")


class MetricReadback(Leased):
    """One scheduled reading: due at `due_at`, filled in when taken (so a flushed Redis loses nothing).

    A metric the platform does not give stays NULL (missing), never 0.
    """

    class State(models.TextChoices):
        SCHEDULED = "scheduled"
        TAKEN = "taken"
        FAILED = "failed"
        # The platform says the post was deleted or made private: this reading found it gone ...
        GONE = "gone"
        # ... and the readings after it are never taken.
        SKIPPED = "skipped"

    publication = models.ForeignKey("publishing.Publication", on_delete=models.CASCADE, related_name="readbacks")
    offset_seconds = models.PositiveIntegerField()
    due_at = models.DateTimeField(db_index=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.SCHEDULED, db_index=True)
    taken_at = models.DateTimeField(null=True, blank=True, db_index=True)
    views = models.PositiveBigIntegerField(null=True, blank=True)
    likes = models.PositiveBigIntegerField(null=True, blank=True)
    comments = models.PositiveBigIntegerField(null=True, blank=True)
    shares = models.PositiveBigIntegerField(null=True, blank=True)
    saves = models.PositiveBigIntegerField(null=True, blank=True)
    watch_time_seconds = models.PositiveBigIntegerField(null=True, blank=True)
    impressions = models.PositiveBigIntegerField(null=True, blank=True)
    batch_size = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many posts the platform call that took this reading asked about.")
    raw = models.JSONField(default=dict, blank=True)

    team_field = "publication__asset__team"

    class Meta:
        ordering = ["publication_id", "offset_seconds"]
        indexes = [due_index("analytics_readback_due"),
                   models.Index(fields=["publication", "state", "taken_at"], name="analytics_readback_latest")]
        constraints = [
            models.UniqueConstraint(fields=["publication", "offset_seconds"], name="one_readback_per_offset")
        ]

    def __str__(self):
        return f"{self.publication_id} +{self.offset_seconds}s"

    def values(self) -> dict:
        return {name: getattr(self, name) for name in METRICS}


class ReadingSchedule(models.Model):
    """A channel's own reading offsets, instead of settings.METRIC_READBACK_OFFSETS."""

    channel = models.OneToOneField("publishing.Channel", on_delete=models.CASCADE, related_name="reading_schedule")
    offsets = models.JSONField(help_text="Seconds after publishing, e.g. [3600, 21600, 86400].")
    updated_at = models.DateTimeField(auto_now=True)

    team_field = "channel__team"

    def __str__(self):
        return f"reading schedule of channel {self.channel_id}"


class MetricRollup(models.Model):
    """What one post (asset × channel) gained on one day (UTC), kept up to date as readings land.

    Each reading adds its difference from the post's previous reading to the day it was taken, so
    the sum over days is the post's latest total, and per asset, channel, platform or day is one
    indexed aggregate. A metric no reading of the post ever gave stays NULL.
    """

    day = models.DateField()
    asset = models.ForeignKey("pipeline.Asset", on_delete=models.CASCADE, related_name="metric_rollups")
    channel = models.ForeignKey("publishing.Channel", on_delete=models.CASCADE, related_name="metric_rollups")
    platform = models.CharField(max_length=20)
    views = models.BigIntegerField(null=True, blank=True)
    likes = models.BigIntegerField(null=True, blank=True)
    comments = models.BigIntegerField(null=True, blank=True)
    shares = models.BigIntegerField(null=True, blank=True)
    saves = models.BigIntegerField(null=True, blank=True)
    watch_time_seconds = models.BigIntegerField(null=True, blank=True)
    impressions = models.BigIntegerField(null=True, blank=True)
    readings = models.PositiveIntegerField(default=0)

    team_field = "asset__team"

    class Meta:
        ordering = ["day", "asset_id", "channel_id"]
        constraints = [
            models.UniqueConstraint(fields=["day", "asset", "channel"], name="one_rollup_per_post_day"),
        ]
        indexes = [
            models.Index(fields=["platform", "day"], name="analytics_rollup_platform"),
            models.Index(fields=["asset", "day"], name="analytics_rollup_asset"),
            models.Index(fields=["channel", "day"], name="analytics_rollup_channel"),
            models.Index(fields=["day"], name="analytics_rollup_day"),
        ]

    def __str__(self):
        return f"{self.day} asset {self.asset_id} channel {self.channel_id}"
