"""Turning a brief into an asset on its way to the script stage."""

from django.db import IntegrityError, transaction

from phantoms.engine.queueing import enqueue_on_commit
from phantoms.engine.registry import get_stage
from phantoms.engine.transitions import transit
from pipeline.models import Asset
from pipeline.providers import BENCHMARK_ONLY, REGISTRY, selectable


class BriefError(ValueError):
    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


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


def submit_brief(*, brief: str, channels=(), title: str = "", target_duration_seconds: int = 20,
                 providers: dict | None = None, idempotency_key: str | None = None, user=None) -> tuple[Asset, bool]:
    """Create an asset and start scripting. Returns (asset, created); a repeated key returns the first asset."""
    if idempotency_key:
        existing = Asset.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return existing, False
    if not brief or not brief.strip():
        raise BriefError("brief", "must not be empty")
    if not 5 <= int(target_duration_seconds) <= 180:
        raise BriefError("target_duration_seconds", "must be between 5 and 180")
    providers = validate_providers(providers or {})
    try:
        with transaction.atomic():
            asset = Asset.objects.create(
                brief=brief.strip(), title=title.strip(), target_duration_seconds=target_duration_seconds,
                providers=providers, idempotency_key=idempotency_key or None,
                created_by=user if getattr(user, "pk", None) else None,
            )
            asset.channels.set(channels)
            transit(asset, "submit", by=user, reason="brief submitted")
            enqueue_on_commit(get_stage("script"), asset.pk, row=asset)
            asset.save(update_fields=["state", "job_id", "next_run_at", "updated_at"])
    except IntegrityError:
        # Two requests with one key raced; the other one won.
        if idempotency_key:
            return Asset.objects.get(idempotency_key=idempotency_key), False
        raise
    return asset, True
