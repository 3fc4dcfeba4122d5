"""Frame and audio inspection through the same ffmpeg binary the code under test uses."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

from pipeline.media.ffmpeg import ffmpeg_exe


def frame_rgb(path: Path, at: float, *, crop: tuple[int, int, int, int] | None = None) -> bytes:
    """One decoded frame as packed rgb24, optionally cropped to (width, height, x, y)."""
    vf = ["-vf", "crop={}:{}:{}:{}".format(*crop)] if crop else []
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-ss", f"{at:.3f}", "-i", str(path),
         "-frames:v", "1", *vf, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True, timeout=60)
    return result.stdout


def image_rgb(path: Path, *, crop: tuple[int, int, int, int] | None = None) -> bytes:
    """A still image (PNG, JPEG) as packed rgb24; no seeking, which a lone JPEG does not survive."""
    vf = ["-vf", "crop={}:{}:{}:{}".format(*crop)] if crop else []
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(path), "-frames:v", "1", *vf,
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True, timeout=60)
    return result.stdout


def pixels(data: bytes):
    view = memoryview(data)
    return zip(view[0::3], view[1::3], view[2::3], strict=True)


def count_differing(a: bytes, b: bytes, *, threshold: int = 40) -> int:
    assert len(a) == len(b)
    return sum(1 for pa, pb in zip(pixels(a), pixels(b), strict=True)
               if max(abs(x - y) for x, y in zip(pa, pb, strict=True)) > threshold)


def count_matching(data: bytes, predicate) -> int:
    return sum(1 for px in pixels(data) if predicate(*px))


def max_volume_db(path: Path, *, start: float = 0.0, prefilter: str = "") -> float:
    chain = f"{prefilter},volumedetect" if prefilter else "volumedetect"
    result = subprocess.run([ffmpeg_exe(), "-hide_banner", "-ss", f"{start:.3f}", "-i", str(path),
                             "-af", chain, "-f", "null", "-"], capture_output=True, text=True, timeout=60)
    match = re.search(r"max_volume:\s*(-?[\d.]+|-inf) dB", result.stderr)
    assert match, result.stderr[-500:]
    return float(match.group(1)) if match.group(1) != "-inf" else float("-inf")


def make_image(path: Path, source: str = "testsrc2=s=640x360") -> Path:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", source,
                    "-frames:v", "1", str(path)], check=True, timeout=60)
    return path


def make_tone(path: Path, seconds: float = 2.0, frequency: int = 330) -> Path:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=f={frequency}:d={seconds}", str(path)], check=True, timeout=60)
    return path


def top_level_atoms(path: Path) -> list[str]:
    """The MP4 box types at the top level of the file, in order."""
    names = []
    with open(path, "rb") as handle:
        while header := handle.read(8):
            size, kind = struct.unpack(">I4s", header)
            consumed = 8
            if size == 1:
                size = struct.unpack(">Q", handle.read(8))[0]
                consumed = 16
            names.append(kind.decode("latin-1"))
            if size == 0:
                break
            handle.seek(size - consumed, 1)
    return names


def loudness(path: Path) -> tuple[float, float]:
    """(integrated loudness in LUFS, mean volume in dB) as ffmpeg's ebur128 and volumedetect measure them."""
    result = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path),
                             "-af", "ebur128=framelog=quiet,volumedetect", "-f", "null", "-"],
                            capture_output=True, text=True, timeout=60)
    integrated = re.search(r"I:\s*(-?[\d.]+|-inf) LUFS", result.stderr)
    mean = re.search(r"mean_volume:\s*(-?[\d.]+|-inf) dB", result.stderr)
    assert integrated and mean, result.stderr[-800:]
    return tuple(float(m.group(1)) if m.group(1) != "-inf" else float("-inf") for m in (integrated, mean))
