"""`Authorization: Bearer <key>` for integration tokens (accounts.models.IntegrationToken)."""

from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts import scoping
from accounts.models import IntegrationToken
from accounts.services.tokens import note_use

KEYWORD = "Bearer"
# prefix (8) + "." + secret (32); anything much longer is not one of ours.
MAX_KEY_LENGTH = 100


class IntegrationTokenAuthentication(authentication.BaseAuthentication):
    """Authenticates as the token's principal; `request.auth` is the token itself."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization: expected 'Bearer <token>'")
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Authorization: the token is not ASCII")
        if len(key) > MAX_KEY_LENGTH or "." not in key:
            raise exceptions.AuthenticationFailed("Authorization: not a Phantoms token")
        try:
            token = IntegrationToken.objects.get_from_key(key)
        except IntegrationToken.DoesNotExist:
            raise exceptions.AuthenticationFailed("Authorization: unknown or revoked token")
        if token.expiry_date is not None and token.expiry_date <= timezone.now():
            raise exceptions.AuthenticationFailed("Authorization: the token expired")
        if not token.principal.is_active:
            raise exceptions.AuthenticationFailed("Authorization: the token is revoked")
        note_use(token)
        # Its permissions and teams in one query, read now for this request alone.
        scoping.preload(token.principal)
        return token.principal, token

    def authenticate_header(self, request):
        return f'{KEYWORD} realm="api"'
