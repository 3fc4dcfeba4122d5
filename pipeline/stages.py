"""The asset stages: script → voice → visuals → render. Each says what it calls and what it commits."""

import hashlib
import shutil
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from phantoms.engine.handler import Context, StageHandler
from phantoms.engine.queueing import enqueue_on_commit
from phantoms.engine.transitions import transit
from phantoms.resilience.errors import PermanentError
from pipeline.media.timeline import beat_spans, cover_timestamp, visual_query
from pipeline.models import Asset
from pipeline.providers import get_provider, provider_name
from pipeline.providers.base import BeatRequest, VisualsResult
from pipeline.script_format import Script, fit_to_budget, word_budget
from pipeline.services.review import auto_approve
from pipeline.services.script_edits import record_version


def asset_dir(asset) -> Path:
    path = Path(settings.MEDIA_ROOT) / "assets" / str(asset.pk)
    path.mkdir(parents=True, exist_ok=True)
    return path


def media_name(path: Path) -> str:
    return str(path.relative_to(settings.MEDIA_ROOT))


def content_addressed(path: Path, digest: str | None = None) -> Path:
    """Move a finished file to a name carrying its content's hash: a new take never reuses an old URL,
    so a player or a platform can never be handed the previous file under the new one's name."""
    path = Path(path)
    digest = digest or hashlib.sha256(path.read_bytes()).hexdigest()
    named = path.with_name(f"{path.stem}-{digest[:16]}{path.suffix}")
    path.replace(named)
    return named


def drop_superseded(old_names, new_names):
    """After the commit that replaced them, remove files no field names any more (a previous take)."""
    root = Path(settings.MEDIA_ROOT)

    def remove():
        for name in set(old_names) - set(new_names):
            if name:
                (root / name).unlink(missing_ok=True)

    transaction.on_commit(remove)


class AssetStage(StageHandler):
    model = Asset
    provider_kind = ""

    def provider(self, asset):
        return get_provider(self.provider_kind, asset)

    def provider_name(self, asset) -> str:
        return provider_name(self.provider_kind, asset)

    def breaker_name(self, asset):
        return self.provider(asset).breaker

    def rate_limit_key(self, asset):
        limit = self.provider(asset).rate_limit
        return (limit, "") if limit else None

    def fail(self, asset, ctx, error):
        asset.failed_stage = self.name
        transit(asset, "fail", actor="worker", reason=error)

    def advance(self, asset, transition: str, next_stage: "AssetStage | None"):
        transit(asset, transition, actor="worker")
        if next_stage:
            enqueue_on_commit(next_stage, asset.pk, row=asset)

    def requeue(self, letter, *, user=None, actor: str = "") -> str:
        """A failed asset resumes the stage it failed in; one that has moved on is left alone."""
        asset = Asset.objects.select_for_update().get(pk=letter.asset_id)
        if asset.state != Asset.State.FAILED or asset.failed_stage != letter.stage:
            return f"asset is {asset.state}; nothing to resume"
        transit(asset, "resume", by=user, actor=actor, reason=f"dead letter {letter.pk} requeued")
        asset.attempts = 0
        asset.lease_owner, asset.lease_expires_at = "", None
        enqueue_on_commit(self, asset.pk, row=asset)
        asset.save()
        return f"asset back to {asset.state}"


class ScriptStage(AssetStage):
    name = queue = "script"
    provider_kind = "script"
    states = (Asset.State.SCRIPTING,)

    def work(self, asset, ctx: Context):
        # Written for the voice that will read it, and cut to length here: never after voicing.
        pace = get_provider("voice", asset).words_per_second(asset)
        result = self.provider(asset).write(asset, words_per_second=pace)
        budget = word_budget(asset.target_duration_seconds, pace)
        result.script, shortened = fit_to_budget(result.script, budget)
        result.usage = {**result.usage, "words": len(result.script.narration_text().split()),
                        "word_budget": budget, "shortened": shortened}
        return result

    def commit(self, asset, result, ctx):
        script: Script = result.script
        asset.script = script.model_dump()
        asset.title = asset.title or script.title
        asset.script_provider = self.provider_name(asset)
        asset.script_model = result.model
        asset.prompt_template = result.template
        if result.usage:
            asset.usage = {**(asset.usage or {}), "script": result.usage}
        record_version(asset, author=asset.script_provider)
        self.advance(asset, "script_done", STAGES["voice"])


class VoiceStage(AssetStage):
    name = queue = "voice"
    provider_kind = "voice"
    states = (Asset.State.VOICING,)

    def work(self, asset, ctx):
        text = Script.model_validate(asset.script).narration_text()
        track = self.provider(asset).synthesize(asset, text, asset_dir(asset))
        track.path = content_addressed(track.path)
        return track

    def commit(self, asset, track, ctx):
        drop_superseded([asset.audio.name], [media_name(Path(track.path))])
        asset.audio.name = media_name(Path(track.path))
        asset.audio_duration = track.duration
        asset.word_timings = track.timings
        asset.voice_provider = f"{self.provider_name(asset)}:{track.engine}"[:40]
        asset.word_timings_source = track.timings_source
        if track.usage:
            asset.usage = {**(asset.usage or {}), "voice": track.usage}
        visuals = STAGES["visuals"]
        if visuals.provider(asset).inline:
            transit(asset, "voice_done", actor="worker")
            visuals.commit(asset, VisualsResult(visuals=[]), ctx)
        else:
            self.advance(asset, "voice_done", visuals)


def visual_theme(asset) -> str:
    return asset.visual_theme or settings.VISUALS_THEME


def beat_requests(asset) -> list[BeatRequest]:
    """What each beat needs behind it, placed on the voice's timeline."""
    script = asset.script or {}
    beats = script.get("beats") or []
    duration = float(asset.audio_duration or 0)
    if not beats:
        raise PermanentError("the script has no beats to put visuals behind", provider="visuals")
    if duration <= 0:
        raise PermanentError("the voice track has no duration: nothing to place visuals on", provider="visuals")
    return [BeatRequest(index=span.index, query=visual_query(beats[span.index]),
                        on_screen=str(beats[span.index].get("on_screen") or ""), start=span.start, end=span.end)
            for span in beat_spans(script, asset.word_timings or [], duration)]


class VisualsStage(AssetStage):
    name = queue = "visuals"
    provider_kind = "visuals"
    states = (Asset.State.VISUALIZING,)

    def work(self, asset, ctx):
        return self.provider(asset).fetch(asset, beat_requests(asset), asset_dir(asset) / "visuals",
                                          theme=visual_theme(asset))

    def commit(self, asset, result, ctx):
        asset.visuals = [{**visual, "path": media_name(Path(visual["path"]))} for visual in result.visuals]
        asset.visuals_provider = self.provider_name(asset)
        if result.usage:
            asset.usage = {**(asset.usage or {}), "images": result.usage}
        self.advance(asset, "visuals_done", STAGES["render"])


class RenderStage(AssetStage):
    name = queue = "render"
    show_running_attempt = True
    writes_while_working = ("render_spec", "render_progress", "render_remote_id")
    provider_kind = "render"
    states = (Asset.State.RENDERING,)

    def render_spec(self, asset) -> dict:
        """Everything the render needs, stored with the asset so it can be rendered again."""
        from pipeline.media.motion import theme_palette
        from pipeline.media.render import RenderSpec

        script = asset.script or {}
        media = Path(settings.MEDIA_ROOT)
        palette = theme_palette(visual_theme(asset))
        visuals = [{**visual, "path": str(media / visual["path"])} for visual in asset.visuals or []]
        beats = script.get("beats") or []
        headlines = [{"text": beats[v["beat"]].get("on_screen", ""), "start": v["start"], "end": v["end"]}
                     for v in visuals if isinstance(v.get("beat"), int) and v["beat"] < len(beats)]
        duration = float(asset.audio_duration or 0)
        spec = {
            "script": script,
            "audio_path": str(media / asset.audio.name),
            "timings": asset.word_timings,
            "title": asset.title or script.get("title", ""),
            "background": {"type": "gradient", "colors": [palette[0], palette[1]]},
            "visuals": visuals,
            "headlines": headlines,
            "transition": settings.RENDER_TRANSITION,
            "transition_seconds": settings.RENDER_TRANSITION_SECONDS,
            "preset": settings.RENDER_PRESET,
        }
        if settings.RENDER_MUSIC:
            spec["music_path"] = str(media / settings.RENDER_MUSIC)
        spans = beat_spans(script, asset.word_timings or [], duration) if duration else []
        title_seconds = RenderSpec.title_seconds if spec["title"] else None
        spec["cover_at"] = cover_timestamp(spans, title_seconds=title_seconds, duration=duration)
        return spec

    def prepare(self, asset, ctx):
        spec = self.render_spec(asset)
        remote = (asset.render_spec or {}).get("remote")
        if remote:
            # A remote render in flight keeps its id, poll count and progress across runs.
            spec["remote"] = remote
            Asset.objects.filter(pk=asset.pk).update(render_spec=spec)
        else:
            Asset.objects.filter(pk=asset.pk).update(render_spec=spec, render_progress=0)

    def work(self, asset, ctx):
        from pipeline.media.render import RenderSpec

        spec = RenderSpec.from_dict(self.render_spec(asset))
        out_dir = asset_dir(asset)
        partial = out_dir / f"video.{ctx.token[:8]}.part.mp4"
        last = [0.0]

        def progress(fraction: float):
            # Throttled: the admin shows it, the database should not feel it.
            now = time.monotonic()
            if now - last[0] > 1.0 or fraction >= 1.0:
                last[0] = now
                # Progress doubles as the lease's heartbeat: a long render keeps its claim.
                Asset.objects.filter(pk=asset.pk, lease_owner=ctx.token).update(
                    render_progress=round(fraction, 3), updated_at=timezone.now(),
                    lease_expires_at=timezone.now() + timedelta(seconds=settings.LEASE_SECONDS))

        renderer = self.provider(asset)
        extra = {"ctx": ctx} if renderer.needs_context else {}
        info = renderer.render(asset, spec, partial, progress, **extra)
        final = out_dir / "video.mp4"
        shutil.move(partial, final)
        digest = hashlib.sha256(final.read_bytes()).hexdigest()
        final = content_addressed(final, digest)
        # What the renderer probed of its output (every renderer returns MediaInfo): publishing reads it
        # instead of probing again.
        result = {"path": final, "duration": info.duration, "sha256": digest,
                  "info": {**info.to_dict(), "sha256": digest, "name": media_name(final),
                           "bytes": final.stat().st_size}}
        if spec.cover_at is not None:
            result["cover"], result["cover_at"] = self.cover(renderer, final, spec.cover_at, out_dir)
        return result

    @staticmethod
    def cover(renderer, video: Path, at: float, out_dir: Path) -> tuple[Path, float]:
        return content_addressed(renderer.cover(video, at, out_dir / "cover.jpg")), at

    def commit(self, asset, result, ctx):
        drop_superseded([asset.video.name, asset.cover.name],
                        [media_name(result["path"]), media_name(result["cover"]) if result.get("cover") else ""])
        asset.video.name = media_name(result["path"])
        asset.video_duration = result["duration"]
        asset.video_sha256 = result["sha256"]
        asset.video_info = result["info"]
        if result.get("cover"):
            asset.cover.name = media_name(result["cover"])
            asset.cover_timestamp = result["cover_at"]
        asset.render_provider = self.provider_name(asset)
        asset.render_progress = 1.0
        self.advance(asset, "render_done", None)
        if settings.AUTO_APPROVE:
            auto_approve(asset)


STAGES: dict[str, AssetStage] = {stage.name: stage for stage in (ScriptStage(), VoiceStage(), VisualsStage(),
                                                                  RenderStage())}


