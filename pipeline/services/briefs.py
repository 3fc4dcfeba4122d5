"""Turning a brief into an asset on its way to the script stage, idempotently.

Idempotency works as payment APIs do it: an `Idempotency-Key` belongs to whoever sent it (a
person, or a token's principal; "system" for commands), and is stored with the fingerprint of
the request it came with. Seen again with the same request, it answers the first asset; with a
different request, `IdempotencyKeyReused` (the API's 422) names what differs; while the first
request is still being processed, `IdempotencyKeyInUse` (409). The key is committed before the
asset is made and released if making it fails, so no brief is lost and none is made twice. Keys
expire IDEMPOTENCY_KEY_TTL seconds (24 h by default) after first use.
"""

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import scoping
from phantoms.engine.queueing import enqueue_on_commit
from phantoms.engine.registry import get_stage
from phantoms.engine.transitions import transit
from pipeline.media.motion import THEMES
from pipeline.models import Asset, IdempotencyKey
from pipeline.providers import BENCHMARK_ONLY, REGISTRY, selectable

# The longest word a brief may hold: a longer one cannot be spoken or captioned, and would fail
# every stage it reached instead of being refused here.
MAX_WORD_LENGTH = 60


class BriefError(ValueError):
    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class IdempotencyKeyReused(BriefError):
    """The key came before with a different request; `differing` names the fields that differ."""

    def __init__(self, key: str, differing: list[str]):
        self.differing = differing
        super().__init__("Idempotency-Key", f"{key!r} was first used with a different request "
                                            f"({', '.join(differing)} differ); use a new key for a new brief")


class IdempotencyKeyInUse(BriefError):
    def __init__(self, key: str):
        super().__init__("Idempotency-Key", f"{key!r}: the first request with this key is still being processed; "
                                            "try again in a moment")


def validate_providers(providers: dict) -> dict:
    """The per-asset provider choices, or a BriefError naming the stage (`providers.<stage>`) and the problem."""
    if not isinstance(providers, dict):
        raise BriefError("providers", "must be an object mapping stage to provider name")
    for stage, name in providers.items():
        if stage not in REGISTRY:
            raise BriefError("providers", f"unknown stage {stage!r}; stages are {', '.join(REGISTRY)}")
        choices = ", ".join(selectable(stage))
        if not isinstance(name, str) or name not in REGISTRY[stage]:
            raise BriefError(f"providers.{stage}", f"unknown {stage} provider {name!r}; choose one of {choices}")
        if name not in selectable(stage) and name in BENCHMARK_ONLY.get(stage, ()):
            raise BriefError(f"providers.{stage}", f"{name!r} is for benchmarks only and is chosen by setting, "
                                                   f"not per asset; choose one of {choices}")
    return providers


def validate_brief_text(brief: str) -> str:
    brief = (brief or "").strip()
    if not brief:
        raise BriefError("brief", "must not be empty")
    longest = max(brief.split(), key=len)
    if len(longest) > MAX_WORD_LENGTH:
        raise BriefError("brief", f"has a word of {len(longest)} characters; words may have at most "
                                  f"{MAX_WORD_LENGTH} (a longer one cannot be spoken or captioned)")
    return brief


def key_scope(user) -> str:
    return f"user:{user.pk}" if getattr(user, "pk", None) else "system"


def _fingerprint(request: dict) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def claim_key(scope: str, key: str, request: dict) -> tuple[IdempotencyKey, Asset | None]:
    """Hold `key` for this request: (record, None) to go ahead, (record, asset) when it was done before."""
    fingerprint = _fingerprint(request)
    for _ in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(scope=scope, key=key, fingerprint=fingerprint, request=request,
                                                       created_at=now, locked_at=now)
            return record, None
        except IntegrityError:
            pass
        record = IdempotencyKey.objects.filter(scope=scope, key=key).select_related("asset").first()
        if record is None:
            continue  # expired and purged between the two statements
        takeover = {"created_at": now, "locked_at": now, "state": IdempotencyKey.State.PROCESSING}
        if record.created_at <= now - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL):
            # Expired: the key is free again, for any request.
            takeover.update(fingerprint=fingerprint, request=request, asset=None)
            if IdempotencyKey.objects.filter(pk=record.pk, created_at=record.created_at).update(**takeover):
                record.refresh_from_db()
                return record, None
            continue
        if record.fingerprint != fingerprint:
            differing = sorted(name for name in set(request) | set(record.request)
                               if request.get(name) != record.request.get(name))
            raise IdempotencyKeyReused(key, differing or ["the request"])
        if record.state == IdempotencyKey.State.DONE and record.asset is not None:
            return record, record.asset
        stale = now - timedelta(seconds=settings.IDEMPOTENCY_PROCESSING_TIMEOUT)
        if record.locked_at <= stale:
            # The first request died mid-way (its asset rolled back with it): this one carries on.
            if IdempotencyKey.objects.filter(pk=record.pk, locked_at=record.locked_at).update(**takeover):
                record.refresh_from_db()
                return record, None
            continue
        raise IdempotencyKeyInUse(key)
    raise IdempotencyKeyInUse(key)


def resolve_team(user, team=None) -> int:
    """The team a brief belongs to: the one named (which must be the user's), or the user's only team."""
    if team is not None:
        team_id = getattr(team, "pk", team)
        if user is not None and not scoping.in_team(user, team_id):
            raise BriefError("team", f"no team {team_id} among yours")
        return team_id
    if user is None or not getattr(user, "pk", None):
        from accounts.teams import default_team_pk

        return default_team_pk()
    home = scoping.home_team(user)
    if home is None:
        raise BriefError("team", "required: you belong to several teams (or none); say which team the brief is for")
    return home


def submit_brief(*, brief: str, channels=(), title: str = "", target_duration_seconds: int = 20,
                 providers: dict | None = None, visual_theme: str = "", team=None,
                 idempotency_key: str | None = None, user=None) -> tuple[Asset, bool]:
    """Create an asset in `team` and start scripting. Returns (asset, created)."""
    brief = validate_brief_text(brief)
    if not 5 <= int(target_duration_seconds) <= 180:
        raise BriefError("target_duration_seconds", "must be between 5 and 180")
    providers = validate_providers(providers or {})
    if visual_theme and visual_theme not in THEMES:
        raise BriefError("visual_theme", f"unknown theme {visual_theme!r}; choose one of {', '.join(sorted(THEMES))}")
    team_id = resolve_team(user, team)
    channels = list(channels)
    foreign = sorted(channel.pk for channel in channels if channel.team_id != team_id)
    if foreign:
        raise BriefError("channels", f"channels {foreign} belong to another team than the brief's")
    title = (title or "").strip()

    record = None
    if idempotency_key:
        request = {"brief": brief, "title": title, "channels": sorted(channel.pk for channel in channels),
                   "target_duration_seconds": int(target_duration_seconds), "providers": providers, "team": team_id,
                   **({"visual_theme": visual_theme} if visual_theme else {})}
        record, existing = claim_key(key_scope(user), idempotency_key, request)
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            asset = Asset.objects.create(
                team_id=team_id, brief=brief, title=title, target_duration_seconds=target_duration_seconds,
                providers=providers, visual_theme=visual_theme,
                created_by=user if getattr(user, "pk", None) else None,
            )
            asset.channels.set(channels)
            transit(asset, "submit", by=user, reason="brief submitted")
            enqueue_on_commit(get_stage("script"), asset.pk, row=asset)
            asset.save(update_fields=["state", "job_id", "next_run_at", "updated_at"])
            if record is not None:
                IdempotencyKey.objects.filter(pk=record.pk).update(state=IdempotencyKey.State.DONE, asset=asset)
    except BaseException:
        if record is not None:
            # Nothing was made: free the key, so the same request may be sent again.
            IdempotencyKey.objects.filter(pk=record.pk, state=IdempotencyKey.State.PROCESSING).delete()
        raise
    return asset, True


def purge_expired_keys() -> int:
    """Forget keys older than IDEMPOTENCY_KEY_TTL (run by the scheduler, phantoms.cron)."""
    cutoff = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
