"""Reads about assets for the admin, the API and the pipeline: what an editor may still change, what may go,
how fast a voice speaks, how two versions of a script differ, what each platform receives."""

import difflib
from statistics import median

from django.db.models import Count, Max

from accounts import scoping
from pipeline.models import Asset
from publishing.selectors import platform_copy  # noqa: F401  (one place to ask, for the pipeline and publishing)

# Before approval an editor may still retarget or retitle an asset; afterwards the publications exist.
EDITABLE_STATES = {Asset.State.DRAFT, Asset.State.SCRIPTING, Asset.State.VOICING, Asset.State.VISUALIZING,
                   Asset.State.RENDERING, Asset.State.AWAITING_REVIEW}
EDITABLE_FIELDS = ("title", "channels")
# Deleting an asset a worker may be holding would leave its jobs pointing at nothing: cancel instead.
DELETABLE_STATES = {Asset.State.DRAFT, Asset.State.PUBLISHED, Asset.State.PARTIALLY_PUBLISHED,
                    Asset.State.REJECTED, Asset.State.CANCELLED}


def editable_fields(asset: Asset) -> tuple[str, ...]:
    return EDITABLE_FIELDS if asset.state in EDITABLE_STATES else ()


def may_delete(asset: Asset) -> bool:
    return asset.state in DELETABLE_STATES


def media_owner(path: str, user) -> Asset | None:
    """The asset a media path ("assets/<id>/...") belongs to, if `user` may see it; None otherwise.

    Only an asset's own folder is ever served to staff: anything else under MEDIA_ROOT (shared
    masters, uploads in progress) has no owner and is refused.
    """
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "assets" or not parts[1].isdigit() or ".." in parts:
        return None
    return assets_for(user).filter(pk=int(parts[1])).first()


def awaiting_review(user=None):
    """Assets an editor should look at (in `user`'s teams), the longest-waiting first."""
    assets = Asset.objects.filter(state=Asset.State.AWAITING_REVIEW).order_by("updated_at", "id")
    return assets if user is None else scoping.visible(assets, user)


def assets_for(user):
    """The assets `user` may see: their teams' assets, or only the ones they submitted when they may
    submit but not read (an integration's token)."""
    assets = scoping.visible(Asset.objects.all(), user)
    if not user.has_perm("pipeline.view_asset"):
        assets = assets.filter(created_by=user) if user.has_perm("pipeline.add_asset") else assets.none()
    return assets


# Fewer narrations than this say little about a voice's pace.
MIN_PACE_SAMPLES = 3


def _narration_words(script: dict) -> int:
    parts = [script.get("hook", "")] + [beat.get("narration", "") for beat in script.get("beats") or []]
    return sum(len(str(part).split()) for part in parts)


def measured_pace(voice_provider: str, *, recent: int = 20) -> float | None:
    """Median words per second of the last `recent` narrations by `voice_provider` ("openai:tts-1/alloy"),
    or None while there are fewer than MIN_PACE_SAMPLES of them."""
    rows = (Asset.objects.filter(voice_provider=voice_provider, audio_duration__gt=0)
            .exclude(script=None).order_by("-id").values_list("script", "audio_duration")[:recent])
    paces = [_narration_words(script) / duration for script, duration in rows if _narration_words(script)]
    return median(paces) if len(paces) >= MIN_PACE_SAMPLES else None


# What the API's list reads of each asset: never render_spec, word_timings, script or usage.
LIST_COLUMNS = ("id", "team_id", "title", "brief", "target_duration_seconds", "state", "failed_stage", "attempts",
                "last_error", "video", "video_duration", "cover", "render_progress", "created_at", "updated_at")


def asset_list_version(assets) -> dict:
    """How many assets a listing covers and when the newest change among them was: its ETag and Last-Modified.

    One aggregate on the listing's own filter. Every change the list shows bumps `updated_at` (the
    engine writes it with each outcome and deferral, and a render's progress with it).
    """
    return assets.order_by().aggregate(count=Count("id"), changed=Max("updated_at"), newest=Max("id"))


def asset_list_page(page_of_values) -> tuple[list[dict], dict[int, list[int]]]:
    """A page of `values(*LIST_COLUMNS)` rows and each asset's channel ids (one query for all)."""
    rows = list(page_of_values)
    channels: dict[int, list[int]] = {}
    if rows:
        through = Asset.channels.through
        for asset_id, channel_id in (through.objects.filter(asset_id__in=[row["id"] for row in rows])
                                     .order_by("asset_id", "channel__platform", "channel__name")
                                     .values_list("asset_id", "channel_id")):
            channels.setdefault(asset_id, []).append(channel_id)
    return rows, channels


def script_lines(script: dict) -> list[tuple[str, str]]:
    """A script as (label, text) lines in reading order: what an editor compares."""
    script = script or {}
    lines = [("Title", script.get("title", "")), ("Hook", script.get("hook", ""))]
    for number, beat in enumerate(script.get("beats") or [], start=1):
        lines += [(f"Beat {number} on screen", beat.get("on_screen", "")),
                  (f"Beat {number} narration", beat.get("narration", "")),
                  (f"Beat {number} visual", beat.get("visual_query", ""))]
    lines += [(f"Caption {number}", line) for number, line in enumerate(script.get("caption_lines") or [], start=1)]
    lines += [("Description", script.get("description", "")), ("Hashtags", " ".join(script.get("hashtags") or []))]
    return [(label, str(text or "")) for label, text in lines]


def script_diff(old: dict, new: dict) -> list[dict]:
    """Rows {field, kind (same/changed/added/removed), old, new} comparing two scripts field by field.

    Lines are matched by label (difflib over the labels), so a beat added in the middle shows as
    added rather than as every later beat changed.
    """
    before, after = script_lines(old), script_lines(new)
    rows = []
    matcher = difflib.SequenceMatcher(a=[label for label, _ in before], b=[label for label, _ in after],
                                      autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for (label, a), (_, b) in zip(before[i1:i2], after[j1:j2], strict=True):
                rows.append({"field": label, "kind": "same" if a == b else "changed", "old": a, "new": b})
            continue
        rows += [{"field": label, "kind": "removed", "old": text, "new": ""} for label, text in before[i1:i2]]
        rows += [{"field": label, "kind": "added", "old": "", "new": text} for label, text in after[j1:j2]]
    return rows


def script_versions(asset: Asset):
    return asset.script_versions.select_related("created_by").order_by("-number")
