"""Performance read back from each platform at fixed offsets after publishing."""

from django.db import models

from phantoms.engine.models import Leased, due_index


class MetricReadback(Leased):
    """One scheduled reading: due at `due_at`, filled in when taken (so a flushed Redis loses nothing)."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled"
        TAKEN = "taken"
        FAILED = "failed"

    publication = models.ForeignKey("publishing.Publication", on_delete=models.CASCADE, related_name="readbacks")
    offset_seconds = models.PositiveIntegerField()
    due_at = models.DateTimeField(db_index=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.SCHEDULED, db_index=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    views = models.PositiveBigIntegerField(null=True, blank=True)
    likes = models.PositiveBigIntegerField(null=True, blank=True)
    comments = models.PositiveBigIntegerField(null=True, blank=True)
    shares = models.PositiveBigIntegerField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True)

    team_field = "publication__asset__team"

    class Meta:
        ordering = ["publication_id", "offset_seconds"]
        indexes = [due_index("analytics_readback_due")]
        constraints = [
            models.UniqueConstraint(fields=["publication", "offset_seconds"], name="one_readback_per_offset")
        ]

    def __str__(self):
        return f"{self.publication_id} +{self.offset_seconds}s"
