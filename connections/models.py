"""A channel's connection to its platform account: OAuth tokens (encrypted), expiry, scopes, and state.

And the authorization requests in flight: the `state` an admin's browser carries to the platform and
back, with the PKCE verifier, so a callback is accepted only for a request this installation made.
"""

from django.conf import settings
from django.db import models

from connections.fields import EncryptedTextField


class Connection(models.Model):
    class Status(models.TextChoices):
        CONNECTED = "connected"
        # The platform refused our refresh (revoked, expired): a person must connect the account again.
        NEEDS_REAUTH = "needs_reauth"

    channel = models.OneToOneField("publishing.Channel", on_delete=models.CASCADE, related_name="connection")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CONNECTED, db_index=True)
    access_token = EncryptedTextField()
    refresh_token = EncryptedTextField()
    expires_at = models.DateTimeField(null=True, blank=True, help_text="When the access token stops working.")
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.JSONField(default=list, blank=True, help_text="The scopes the account granted.")
    missing_scopes = models.JSONField(default=list, blank=True,
                                      help_text="Scopes Phantoms asked for that the account did not grant.")
    # Bumped on every change of tokens: a refresh writes only if nobody else refreshed meanwhile.
    generation = models.PositiveIntegerField(default=0)
    connected_at = models.DateTimeField(auto_now_add=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    # Why the last refresh failed, in the platform's words (never a token).
    last_error = models.TextField(blank=True)

    team_field = "channel__team"

    def __str__(self):
        return f"{self.channel} ({self.get_status_display()})"


class AuthorizationRequest(models.Model):
    """One click on "Connect": its state and PKCE verifier until the callback uses it (once)."""

    platform = models.CharField(max_length=20)
    state = models.CharField(max_length=100, unique=True)
    code_verifier = EncryptedTextField()
    redirect_uri = models.URLField(max_length=500)
    scopes = models.JSONField(default=list)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="+")
    # Set when reconnecting a channel: the callback must bring back the same account.
    channel = models.ForeignKey("publishing.Channel", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.platform} authorization {self.pk}"
