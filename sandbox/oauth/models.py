"""The sandbox authorization servers' records: grants (one per consent) and the codes and tokens issued for them."""

from django.db import models


class OAuthGrant(models.Model):
    platform = models.CharField(max_length=20)
    client_id = models.CharField(max_length=200)
    account_id = models.CharField(max_length=100)
    account_name = models.CharField(max_length=100)
    scopes = models.JSONField(default=list)
    redirect_uri = models.CharField(max_length=500)
    code_challenge = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "sandbox OAuth grant"

    def __str__(self) -> str:
        return f"{self.platform} grant for {self.account_name}"


class OAuthToken(models.Model):
    class Kind(models.TextChoices):
        CODE = "code"
        ACCESS = "access"
        REFRESH = "refresh"

    grant = models.ForeignKey(OAuthGrant, on_delete=models.CASCADE, related_name="tokens")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.CharField(max_length=200, unique=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # A code once redeemed, a refresh token once rotated: spent, and a second use is refused.
    spent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "sandbox OAuth token"

    def __str__(self) -> str:
        return f"{self.kind} for grant {self.grant_id}"
