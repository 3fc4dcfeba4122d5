"""Offline visuals: a generated motion background per beat (pipeline.media.motion), no network.

The beats' clips are made a few at a time (VISUALS_OFFLINE_PARALLEL, default 2): each is one ffmpeg
process whose filters run on a single core, so two at once on two cores take about half as long
as one after another. The threads only wait on their ffmpeg. The visuals come back in beat order,
whichever clip finished first. When one beat fails, or the stage is stopped (a job timeout, a
shutdown), the clips still being drawn are killed and their partial files removed, and the
first failure in beat order is raised, classified as it would have been one at a time; clips
already finished keep their records, so a retry reuses them.
"""

import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path

from django.conf import settings

from pipeline.media.ffmpeg import Cancelled
from pipeline.media.motion import make_motion_clip, plan_for_beat, theme_palette
from pipeline.providers.base import BeatRequest, VisualsProvider, VisualsResult

from .common import clip_seconds, remember, reuse


def parallel_clips() -> int:
    return max(1, int(getattr(settings, "VISUALS_OFFLINE_PARALLEL", 2) or 1))


class MotionVisuals(VisualsProvider):
    name = "offline"

    def fetch(self, asset, beats: list[BeatRequest], out_dir: Path, *, theme: str) -> VisualsResult:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        theme_palette(theme)  # an unknown theme is refused before any clip is started
        workers = min(parallel_clips(), len(beats))
        if workers <= 1:
            return VisualsResult(visuals=[self.make(asset, beat, out_dir, theme=theme) for beat in beats])
        cancel = threading.Event()
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="motion-clip")
        try:
            futures = [pool.submit(self.make, asset, beat, out_dir, theme=theme, cancel=cancel) for beat in beats]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            if any(future.exception() for future in done):
                cancel.set()
                for future in futures:
                    future.cancel()
                wait(futures)
                failures = [future.exception() for future in futures if not future.cancelled() and future.exception()]
                # The beat that failed by itself, not one stopped because of it (earliest beat first).
                raise next((exc for exc in failures if not isinstance(exc, Cancelled)), failures[0])
            return VisualsResult(visuals=[future.result() for future in futures])
        except BaseException:
            # Also a job timeout or Ctrl-C arriving while this thread waits: stop the running ffmpegs
            # (each removes its partial file) and start no more, before the exception goes on.
            cancel.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def make(self, asset, beat: BeatRequest, out_dir: Path, *, theme: str, reason: str = "",
             cancel: threading.Event | None = None) -> dict:
        plan = plan_for_beat(theme, beat.index, salt=f"asset-{getattr(asset, 'pk', '')}")
        seconds = clip_seconds(beat)
        key = {"provider": self.name, "motion": plan.to_dict(), "seconds": seconds,
               "size": settings.VISUALS_OFFLINE_SIZE}
        cached = reuse(out_dir, beat, key)
        if cached:
            return cached
        path = make_motion_clip(out_dir / f"beat-{beat.index}.mp4", plan, seconds,
                                size=settings.VISUALS_OFFLINE_SIZE, timeout=settings.RENDER_TIMEOUT, cancel=cancel)
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
