"""Who may do what, and where: teams, integration tokens, and the audit trail of people's actions.

Roles are Django groups created by a migration (`accounts.roles`); a person's teams are
`Team.members`. Every row that belongs to a team says how to reach it with a `team_field` class
attribute (e.g. `"asset__team"`), which `accounts.scoping` follows (docs/architecture.md, "Teams").
"""

from django.conf import settings
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

from accounts.roles import ROLE_NAMES


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    team_field = "pk"

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class IntegrationTokenManager(BaseAPIKeyManager):
    def get_usable_keys(self):
        return super().get_usable_keys().select_related("principal")


class IntegrationToken(AbstractAPIKey):
    """An integration's key: hashed at rest (only the prefix is readable), scoped to one team and one role.

    Each token acts through its own user (`principal`): a member of the token's team holding the
    token's role, so the same permission checks and scoping apply as for a person.
    """

    objects = IntegrationTokenManager()

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="tokens")
    role = models.CharField(max_length=20, choices=[(name, name) for name in ROLE_NAMES], default="integration")
    can_approve = models.BooleanField(default=False, help_text="Grant approval of assets to this integration.")
    principal = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="integration_token", editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    team_field = "team"

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "integration token"
        verbose_name_plural = "integration tokens"


class AuditEvent(models.Model):
    """One thing a person (or an integration, or a command) did that changed what the system does."""

    class Action(models.TextChoices):
        APPROVED = "approved"
        REJECTED = "rejected"
        SENT_BACK = "sent_back"
        CANCELLED = "cancelled"
        EDITED = "edited"
        SCHEDULED = "scheduled"
        REQUEUED = "requeued"
        DISCARDED = "discarded"
        PUBLICATION_RETRIED = "publication_retried"
        CONFIRMED_PUBLISHED = "confirmed_published"
        BREAKER_CHANGED = "breaker_changed"
        FAULTS_CHANGED = "faults_changed"
        CHANNEL_CONNECTED = "channel_connected"
        CHANNEL_CHANGED = "channel_changed"
        CHANNEL_DISCONNECTED = "channel_disconnected"
        TOKEN_ISSUED = "token_issued"
        TOKEN_REVOKED = "token_revoked"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=40, choices=Action.choices, db_index=True)
    # Events about shared things (breakers, sandbox faults) have no team; every auditor sees them.
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=500, blank=True)
    details = models.JSONField(default=dict, blank=True)

    team_field = "team"
    teamless_visible = True

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self):
        return f"{self.actor_name} {self.action} {self.target_type} {self.target_id}".strip()
