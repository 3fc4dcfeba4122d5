import shutil
import threading
from pathlib import Path

from django.conf import settings

from pipeline.media.ffmpeg import extract_frame, probe, run_ffmpeg
from pipeline.providers.base import Renderer

_lock = threading.Lock()
_master_info = {}


class InstantRenderer(Renderer):
    """Copies one real, tiny MP4 made once per machine: for benchmarks that measure orchestration."""

    name = "instant"

    def render(self, asset, spec, out_path: Path, progress=None):
        # Named by its length: a master made before it became three seconds long is not reused.
        master = Path(settings.MEDIA_ROOT) / "instant-master-3s.mp4"
        with _lock:
            if not master.exists():
                master.parent.mkdir(parents=True, exist_ok=True)
                tmp = master.with_suffix(".tmp.mp4")
                # Three seconds: the shortest video every platform takes (Instagram Reels' minimum), so a
                # benchmark's post is published, not refused by its rendition (publishing/renditions.py).
                run_ffmpeg(["-y", "-f", "lavfi", "-i", "color=c=black:s=108x192:r=30:d=3",
                            "-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "3",
                            "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(tmp)],
                           timeout=60)
                tmp.replace(master)
            if master not in _master_info:
                _master_info[master] = probe(master)
        shutil.copyfile(master, out_path)
        return _master_info[master]

    def cover(self, video: Path, at: float, out_path: Path) -> Path:
        """A copy of one frame made once, like the video: a benchmark measures the pipeline, not ffmpeg."""
        master = Path(settings.MEDIA_ROOT) / "instant-master-cover.jpg"
        with _lock:
            if not master.exists():
                extract_frame(video, 0.0, master)
        shutil.copyfile(master, out_path)
        return out_path
