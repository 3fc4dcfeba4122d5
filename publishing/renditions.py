"""One rendition per platform from the master render, meeting the platform's documented limits.

Each adapter states its limits as a `RenditionSpec` (publishing/platforms/base.py). A master that
already meets them is reused as it is; otherwise ffmpeg scales it into the frame, caps the frame rate
and re-encodes H.264 (yuv420p) with AAC. Limits a re-encode cannot meet (too long, too short, too large
after encoding) fail the publication permanently with a message naming the limit. Renditions are
cached by the master's content hash and the spec, so a retry, a requeue or a second channel on the
same platform never encodes twice (docs/platforms.md, "Renditions").
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import imageio_ffmpeg
from django.conf import settings

from phantoms.resilience.errors import PermanentError, TransientError

from .platforms.base import RenditionSpec

TIMEOUT = 600


def media_info(path: Path) -> dict:
    """Codec, size, frame rate, duration and audio codec, as ffmpeg reads the file's header.

    Only for a master its render did not record (`recorded_meta`): reading the header this way costs
    ~50 ms, which the record saves on every publication.
    """
    try:
        reader = imageio_ffmpeg.read_frames(os.fspath(path))
        meta = next(reader)
        reader.close()
    except (OSError, RuntimeError, StopIteration) as exc:
        raise PermanentError(f"the master render {path.name} is not a readable video: {exc}", provider="renditions")
    return meta


def recorded_meta(asset) -> dict | None:
    """The master's facts as its render probed them (`Asset.video_info`), in `media_info`'s shape.

    Only for the file they describe (its name, sha256 and size as the render wrote them), and only when
    they say everything `problems` checks; otherwise None, and the file is probed.
    """
    info = asset.video_info or {}
    if not (info.get("sha256") and info.get("sha256") == asset.video_sha256 and info.get("name") == asset.video.name
            and info.get("video_codec") and info.get("pix_fmt") and info.get("width") and info.get("height")):
        return None
    return {"codec": info["video_codec"], "audio_codec": info.get("audio_codec"), "pix_fmt": info["pix_fmt"],
            "size": (info["width"], info["height"]), "fps": info.get("fps") or 0,
            "duration": info.get("duration") or 0, "bytes": info.get("bytes"), "sha256": info["sha256"]}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def problems(meta: dict, size: int, spec: RenditionSpec) -> list[str]:
    """What keeps the file from being sent as it is (empty: it meets every limit)."""
    width, height = meta.get("size") or (0, 0)
    found = []
    if meta.get("codec") != spec.video_codec:
        found.append(f"video codec {meta.get('codec')} (needs {spec.video_codec})")
    if meta.get("audio_codec") not in (None, spec.audio_codec):
        found.append(f"audio codec {meta.get('audio_codec')} (needs {spec.audio_codec})")
    if width > spec.max_width or height > spec.max_height:
        found.append(f"{width}x{height} (at most {spec.max_width}x{spec.max_height})")
    if (meta.get("fps") or 0) > spec.max_fps:
        found.append(f"{meta.get('fps')} fps (at most {spec.max_fps:g})")
    if not str(meta.get("pix_fmt", "")).startswith("yuv420p"):
        found.append(f"pixel format {meta.get('pix_fmt')} (needs yuv420p)")
    if size > spec.max_bytes:
        found.append(f"{size} bytes (at most {spec.max_bytes})")
    return found


def rendition_for(master: Path, spec: RenditionSpec, platform: str, meta: dict | None = None) -> Path:
    """The file to upload to `platform`: the master itself when it meets `spec`, else a cached re-encode.

    `meta` is what the render recorded of this master (`recorded_meta`); without it, or when the file's
    size differs from the record, the file is probed.
    """
    if not master.is_file():
        raise PermanentError(f"rendered video missing at {master}", provider=platform)
    size = master.stat().st_size
    if meta is None or meta.get("bytes") != size:
        meta = media_info(master)
    duration = float(meta.get("duration") or 0)
    if duration > spec.max_duration:
        raise PermanentError(f"the video is {duration:.1f} s; {platform} takes at most {spec.max_duration:g} s "
                             "(max_duration)", provider=platform)
    if duration < spec.min_duration:
        raise PermanentError(f"the video is {duration:.1f} s; {platform} needs at least {spec.min_duration:g} s "
                             "(min_duration)", provider=platform)
    if not problems(meta, size, spec):
        return master
    cache = Path(settings.MEDIA_ROOT) / "renditions"
    cache.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(spec.key.encode()).hexdigest()[:16]
    target = cache / f"{meta.get('sha256') or _sha256(master)}-{key}.mp4"
    if target.is_file():
        return target
    encode(master, target, spec)
    encoded = target.stat().st_size
    if encoded > spec.max_bytes:
        target.unlink()
        raise PermanentError(f"the {platform} rendition is {encoded} bytes; {platform} takes at most {spec.max_bytes} "
                             "(max_bytes)", provider=platform)
    return target


def encode(master: Path, target: Path, spec: RenditionSpec) -> None:
    """Scale into the frame (keeping the aspect, even sides), cap the frame rate, H.264 + AAC, written
    beside the cache and renamed into place so a crash never leaves half a rendition to reuse."""
    scale = (f"scale='min({spec.max_width},iw)':'min({spec.max_height},ih)':force_original_aspect_ratio=decrease,"
             f"scale=trunc(iw/2)*2:trunc(ih/2)*2,fps='min({spec.max_fps:g},source_fps)'")
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".mp4", delete=False) as partial:
        partial_path = Path(partial.name)
    try:
        result = subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
             "-i", os.fspath(master), "-vf", scale, "-c:v", "libx264", "-preset", settings.RENDER_PRESET,
             "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart", os.fspath(partial_path)],
            capture_output=True, timeout=TIMEOUT)
        if result.returncode != 0:
            raise PermanentError(f"could not make the {spec.key} rendition: "
                                 f"{result.stderr.decode('utf-8', 'replace')[-500:]}", provider="renditions")
        shutil.move(partial_path, target)
    except subprocess.TimeoutExpired:
        raise TransientError(f"making a rendition took longer than {TIMEOUT} s", provider="renditions")
    finally:
        partial_path.unlink(missing_ok=True)
