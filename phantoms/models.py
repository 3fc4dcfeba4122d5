"""Shared operational records: breaker state changes, and the placeholder behind the breakers page."""

from django.db import models


class BreakerEvent(models.Model):
    """A breaker changed state: which one, from what, to what, and the error that did it."""

    name = models.CharField(max_length=40, db_index=True)
    from_state = models.CharField(max_length=20)
    to_state = models.CharField(max_length=20)
    error = models.TextField(blank=True)
    actor = models.CharField(max_length=150, blank=True, help_text="Set when a person forced the change.")
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.name}: {self.from_state} → {self.to_state}"


class Breaker(models.Model):
    """No table: gives the breakers page an admin entry and the `manage_breakers` permission."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("manage_breakers", "Can open, close and reset circuit breakers")]
        verbose_name = "circuit breaker"

    def __str__(self):
        return "circuit breakers"
