from pathlib import Path

from django.conf import settings

from pipeline.media.render import render_video
from pipeline.providers.base import Renderer


class FfmpegRenderer(Renderer):
    """The local renderer: one ffmpeg run with burned-in captions and the voice muxed in."""

    name = "ffmpeg"

    def render(self, asset, spec, out_path: Path, progress=None):
        return render_video(spec, out_path, progress=progress, timeout=settings.RENDER_TIMEOUT)
