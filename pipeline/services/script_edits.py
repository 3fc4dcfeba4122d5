"""An editor rewriting an asset's script before approving it, and re-running only what the change invalidates.

What each part of the script feeds (docs/architecture.md, the stages):
- the hook and each beat's narration are spoken: new words need a new voice, and the voice's new
  timings move every beat, so visuals and the render follow (voice → visuals → render);
- a beat's visual_query (or its on-screen text, when that is what the visuals search by) picks the
  visuals behind it: visuals → render;
- the on-screen lines, caption lines and the script's title are drawn by the render: render only;
- the description and hashtags only travel with the upload: nothing re-runs.

Every version of the script is kept (ScriptVersion) so two can be compared; the audit trail and
the asset's transition history say who changed what and which stage ran again.
"""

from django.db import transaction
from pydantic import ValidationError

from accounts import scoping
from accounts.models import AuditEvent
from accounts.services import audit
from phantoms.engine.queueing import enqueue_on_commit
from phantoms.engine.registry import get_stage
from phantoms.engine.transitions import transit
from pipeline.media.timeline import visual_query
from pipeline.models import Asset, ScriptVersion
from pipeline.script_format import Script
from pipeline.services.edits import EditError

# The stages in pipeline order: a change re-runs the first one it touches and everything after it.
STAGE_ORDER = ("voice", "visuals", "render")
SCRIPT_FIELDS = ("title", "hook", "beats", "caption_lines", "description", "hashtags")


def validate_script(data: dict) -> Script:
    """The edited script as the pipeline's contract (pipeline.script_format.Script), or EditError naming the field."""
    try:
        return Script.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "script"
        raise EditError(f"script.{where}", error["msg"])


def changed_fields(old: dict, new: dict) -> list[str]:
    return [name for name in SCRIPT_FIELDS if (old or {}).get(name) != (new or {}).get(name)]


def invalidated_stage(old: dict, new: dict) -> str | None:
    """The first stage a change from `old` to `new` makes stale: "voice", "visuals", "render" or None."""
    old, new = old or {}, new or {}
    old_beats, new_beats = old.get("beats") or [], new.get("beats") or []
    spoken = [old.get("hook")] + [beat.get("narration") for beat in old_beats]
    if spoken != [new.get("hook")] + [beat.get("narration") for beat in new_beats]:
        return "voice"
    if [visual_query(beat) for beat in old_beats] != [visual_query(beat) for beat in new_beats]:
        return "visuals"
    drawn = ("title", "caption_lines")
    if (any(old.get(name) != new.get(name) for name in drawn)
            or [beat.get("on_screen") for beat in old_beats] != [beat.get("on_screen") for beat in new_beats]):
        return "render"
    return None


def record_version(asset: Asset, *, user=None, author: str = "", changed=(), reruns: str = "") -> ScriptVersion:
    """Keep the asset's current script as its next version; call in the transaction that wrote it."""
    last = asset.script_versions.order_by("-number").values_list("number", flat=True).first() or 0
    return ScriptVersion.objects.create(
        asset=asset, number=last + 1, script=asset.script, created_by=user if getattr(user, "pk", None) else None,
        author=(author or (user.get_username() if getattr(user, "pk", None) else "system"))[:150],
        changed=list(changed), reruns=reruns or "")


def revise_script(asset_id: int, *, script: dict, user=None) -> tuple[Asset, str | None]:
    """Replace an awaiting-review asset's script with `script` and re-run what it invalidates.

    Returns the asset and the stage that runs again (None when only the description or hashtags
    changed, which the asset keeps awaiting review with).
    """
    new = validate_script(script).model_dump()
    with transaction.atomic():
        asset = Asset.objects.select_for_update().get(pk=asset_id)
        if user is not None:
            if not scoping.in_team(user, asset.team_id):
                raise Asset.DoesNotExist(f"no asset {asset_id} among your teams")
            if not user.has_perm("pipeline.change_asset"):
                raise EditError("script", "you may not edit assets")
        if asset.state != Asset.State.AWAITING_REVIEW:
            raise EditError("script", f"can be edited only while the asset awaits review; it is {asset.state}")
        old = asset.script or {}
        changed = changed_fields(old, new)
        if not changed:
            return asset, None
        # The script as written is version 1, kept before the first edit replaces it.
        if not asset.script_versions.exists() and old:
            record_version(asset, author=asset.script_provider or "script writer")
        stage = invalidated_stage(old, new)
        asset.script = new
        fields = ["script", "updated_at"]
        if stage is not None:
            transit(asset, "revise", by=user, reason=f"script edited ({', '.join(changed)}): {stage} runs again",
                    stage=stage)
            # A fresh run: no attempts spent, no remote render or progress carried over from the last one.
            asset.attempts = 0
            asset.render_progress = 0
            asset.render_spec = None
            asset.render_remote_id = ""
            asset.lease_owner, asset.lease_expires_at = "", None
            fields += ["state", "attempts", "render_progress", "render_spec", "render_remote_id", "lease_owner",
                       "lease_expires_at", "job_id", "next_run_at"]
            enqueue_on_commit(get_stage(stage), asset.pk, row=asset)
        asset.save(update_fields=fields)
        version = record_version(asset, user=user, changed=changed, reruns=stage or "")
        audit.record(AuditEvent.Action.EDITED, actor=user, target=asset,
                     summary=f"script v{version.number}: changed {', '.join(changed)}"
                             + (f"; {stage} runs again" if stage else "; nothing re-runs"),
                     fields=[f"script.{name}" for name in changed], reruns=stage or "", version=version.number)
    return asset, stage
