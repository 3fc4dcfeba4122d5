"""Offline visuals: a generated motion background per beat (pipeline.media.motion), no network."""

from pathlib import Path

from django.conf import settings

from pipeline.media.motion import make_motion_clip, plan_for_beat, theme_palette
from pipeline.providers.base import BeatRequest, VisualsProvider, VisualsResult

from .common import clip_seconds, remember, reuse


class MotionVisuals(VisualsProvider):
    name = "offline"

    def fetch(self, asset, beats: list[BeatRequest], out_dir: Path, *, theme: str) -> VisualsResult:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        visuals = [self.make(asset, beat, out_dir, theme=theme) for beat in beats]
        return VisualsResult(visuals=visuals)

    def make(self, asset, beat: BeatRequest, out_dir: Path, *, theme: str, reason: str = "") -> dict:
        plan = plan_for_beat(theme, beat.index, salt=f"asset-{getattr(asset, 'pk', '')}")
        seconds = clip_seconds(beat)
        key = {"provider": self.name, "motion": plan.to_dict(), "seconds": seconds,
               "size": settings.VISUALS_OFFLINE_SIZE}
        cached = reuse(out_dir, beat, key)
        if cached:
            return cached
        path = make_motion_clip(out_dir / f"beat-{beat.index}.mp4", plan, seconds,
                                size=settings.VISUALS_OFFLINE_SIZE, timeout=settings.RENDER_TIMEOUT)
        visual = {"beat": beat.index, "kind": "video", "path": str(path), "start": beat.start, "end": beat.end,
                  "query": beat.query, "provider": self.name, "motion": plan.to_dict(), "attribution": None}
        if reason:
            visual["fallback_reason"] = reason
        return remember(out_dir, beat, key, visual)


class PlainVisuals(VisualsProvider):
    """No per-beat visuals: the render draws the theme's still gradient behind every beat."""

    name = "plain"
    inline = True

    def fetch(self, asset, beats: list[BeatRequest], out_dir: Path, *, theme: str) -> VisualsResult:
        theme_palette(theme)  # an unknown theme is refused here too
        return VisualsResult(visuals=[])
