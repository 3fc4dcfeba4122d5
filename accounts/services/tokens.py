"""Integration tokens: issue (the key is shown once, only its hash is kept), revoke, and note their use."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from accounts import scoping
from accounts.models import AuditEvent, IntegrationToken, Team
from accounts.roles import ROLE_NAMES
from accounts.services import audit

# A token's last use is written at most this often, so a busy integration does not write on every call.
LAST_USED_GRANULARITY = timedelta(seconds=60)


class TokenError(ValueError):
    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def check_grant(issuer, team: Team, role: str, can_approve: bool) -> None:
    """Nobody hands out more than they hold: a role they have, in a team they belong to."""
    if role not in ROLE_NAMES:
        raise TokenError("role", f"unknown role {role!r}; roles are {', '.join(ROLE_NAMES)}")
    if issuer is None or scoping.sees_all_teams(issuer):
        return
    if not scoping.in_team(issuer, team.pk):
        raise TokenError("team", "you may issue tokens only for your own teams")
    if not issuer.groups.filter(name=role).exists():
        raise TokenError("role", f"you may issue only roles you hold yourself, and you are not {role!r}")
    if can_approve and not issuer.has_perm("pipeline.approve_asset"):
        raise TokenError("can_approve", "you may grant approval only if you may approve yourself")


def issue_token(*, name: str, team: Team, role: str = "integration", can_approve: bool = False,
                expires_at=None, issuer=None) -> tuple[IntegrationToken, str]:
    """Create a token; returns it and its key (the only time the key exists in clear)."""
    name = (name or "").strip()
    if not name:
        raise TokenError("name", "must not be empty")
    if expires_at is not None and expires_at <= timezone.now():
        raise TokenError("expiry_date", "must be in the future")
    check_grant(issuer, team, role, can_approve)
    with transaction.atomic():
        token = IntegrationToken(name=name[:50], team=team, role=role, can_approve=can_approve,
                                 expiry_date=expires_at, created_by=issuer if getattr(issuer, "pk", None) else None)
        key = IntegrationToken.objects.assign_key(token)
        principal = get_user_model().objects.create_user(username=f"token-{token.prefix}")
        principal.first_name = name[:150]
        principal.set_unusable_password()
        principal.save()
        principal.groups.add(Group.objects.get(name=role))
        if can_approve:
            principal.user_permissions.add(
                Permission.objects.get(content_type__app_label="pipeline", codename="approve_asset"))
        team.members.add(principal)
        token.principal = principal
        token.save()
        audit.record(AuditEvent.Action.TOKEN_ISSUED, actor=issuer, target=token, target_id=token.prefix, team=team,
                     summary=f"token {name!r} ({role}{', may approve' if can_approve else ''})", role=role,
                     can_approve=can_approve)
    return token, key


def revoke_token(token_id: str, *, by=None) -> bool:
    """Revoke for good; False when it was revoked already."""
    with transaction.atomic():
        token = IntegrationToken.objects.select_for_update().get(pk=token_id)
        if token.revoked:
            return False
        IntegrationToken.objects.filter(pk=token.pk).update(revoked=True, revoked_at=timezone.now())
        get_user_model().objects.filter(pk=token.principal_id).update(is_active=False)
        audit.record(AuditEvent.Action.TOKEN_REVOKED, actor=by, target=token, target_id=token.prefix,
                     team=token.team_id,
                     summary=f"token {token.name!r} revoked")
    return True


def note_use(token: IntegrationToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_GRANULARITY:
        IntegrationToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
