"""A Pexels stand-in: video search and video files, with real (generated) MP4s behind every link.

Relies on the Pexels API documentation, "Search for Videos": `GET /videos/search` with `query`
(required), `orientation` (`landscape`, `portrait`, `square`), `size` (`large`, `medium`, `small`),
`locale`, `page` and `per_page` (at most 80); the key in the `Authorization` header as is. The answer:
`page`, `per_page`, `total_results`, `url`, `videos` (each with `id`, `width`, `height`, `url`,
`image`, `duration`, `user` {`id`, `name`, `url`}, `video_files` [{`id`, `quality`, `file_type`,
`width`, `height`, `fps`, `link`}], `video_pictures`), and `prev_page` / `next_page` links.
Responses carry `X-Ratelimit-Limit`, `X-Ratelimit-Remaining` and `X-Ratelimit-Reset`.

The catalogue is deterministic: a query always finds the same videos, and different queries find
different ones. A query containing the word "noresults" finds nothing, as a nonsense query would, and
a key starting with "invalid" is refused like a revoked one.
Files are drawn on first download (a Game of Life in a per-video palette, labelled) and kept under
MEDIA_ROOT/sandbox_pexels.
"""

import hashlib
import re
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.http import FileResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from pipeline.media.ffmpeg import run_ffmpeg
from pipeline.media.fonts import find_font
from sandbox import faults

TARGET = "pexels"
ORIENTATIONS = {"portrait": (1080, 1920), "landscape": (1920, 1080), "square": (1080, 1080)}
SIZES = ("large", "medium", "small")
# (quality, scale of the original) for each file a video offers, largest first.
RENDITIONS = (("hd", 1.0), ("hd", 2 / 3), ("sd", 0.5), ("sd", 1 / 3))
MONTHLY_LIMIT = 20000
_FILE_NAME = re.compile(r"^(\d+)-(hd|sd)_(\d{2,4})_(\d{2,4})_(\d{2})fps\.mp4$")
_PALETTES = (("0x0b3954", "0xf2c14e", "0x087e8b"), ("0x2d1e2f", "0xf28f3b", "0xc8553d"),
             ("0x1b2d2a", "0x9bc53d", "0x5bc0eb"), ("0x241e4e", "0xef6f6c", "0x465775"),
             ("0x102542", "0xf87060", "0xcdd7d6"))


def _error(status: int, message: str) -> JsonResponse:
    return faults.error_response(TARGET, status, message, code="invalid_request")


def _gate(request):
    key = request.headers.get("Authorization", "").strip()
    if not key or key.lower().startswith("invalid"):
        faults.count_call(TARGET)
        return faults.error_response(TARGET, 401, "Unauthorized: add a valid API key in the Authorization header.",
                                     code="unauthorized")
    return faults.apply_faults(TARGET, request)


def _rate_headers(response):
    response["X-Ratelimit-Limit"] = str(MONTHLY_LIMIT)
    response["X-Ratelimit-Remaining"] = str(MONTHLY_LIMIT - 1 - faults.call_count(TARGET) % MONTHLY_LIMIT)
    response["X-Ratelimit-Reset"] = str(int(time.time()) + 30 * 86400)
    return response


def _int(request, name: str, default: int, low: int, high: int) -> int:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}")
    return value


def catalogue_size(query: str) -> int:
    words = re.findall(r"[a-z]+", query.lower())
    if "noresults" in words:
        return 0
    return 6 + int(hashlib.sha256(" ".join(words).encode()).hexdigest()[:4], 16) % 30


def video_id(query: str, index: int) -> int:
    words = " ".join(re.findall(r"[a-z]+", query.lower()))
    return 1_000_000 + int(hashlib.sha256(f"{words}:{index}".encode()).hexdigest()[:8], 16) % 90_000_000


def video_seconds(vid: int) -> int:
    return 5 + vid % 16


def _slug(query: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", query.lower()))[:60] or "video"


def video_entry(request, query: str, index: int, orientation: str) -> dict:
    vid = video_id(query, index)
    width, height = ORIENTATIONS[orientation]
    creator = 1000 + vid % 977
    files = []
    for number, (quality, scale) in enumerate(RENDITIONS):
        w, h = int(width * scale) // 2 * 2, int(height * scale) // 2 * 2
        name = f"{vid}-{quality}_{w}_{h}_30fps.mp4"
        files.append({"id": vid * 10 + number, "quality": quality, "file_type": "video/mp4", "width": w,
                      "height": h, "fps": 30.0,
                      "link": request.build_absolute_uri(reverse("sandbox:pexels-file", args=[vid, name]))})
    return {
        "id": vid, "width": width, "height": height, "duration": video_seconds(vid),
        "full_res": None, "tags": [], "avg_color": None,
        "url": f"https://www.pexels.com/video/{_slug(query)}-{vid}/",
        "image": f"https://images.pexels.com/videos/{vid}/free-video-{vid}.jpg",
        "user": {"id": creator, "name": f"Sandbox Creator {creator}",
                 "url": f"https://www.pexels.com/@sandbox-creator-{creator}"},
        "video_files": files,
        "video_pictures": [{"id": vid * 100 + n, "nr": n,
                            "picture": f"https://images.pexels.com/videos/{vid}/pictures/preview-{n}.jpg"}
                           for n in range(3)],
    }


@require_GET
def search_videos(request):
    faulted = _gate(request)
    if faulted is not None:
        return faulted
    query = " ".join(request.GET.get("query", "").split())
    if not query:
        return _error(400, "query: required, the search term")
    orientation = request.GET.get("orientation") or "landscape"
    if orientation not in ORIENTATIONS:
        return _error(400, f"orientation: must be one of {', '.join(ORIENTATIONS)}")
    size = request.GET.get("size")
    if size and size not in SIZES:
        return _error(400, f"size: must be one of {', '.join(SIZES)}")
    try:
        page = _int(request, "page", 1, 1, 10_000)
        per_page = _int(request, "per_page", 15, 1, 80)
    except ValueError as exc:
        return _error(400, str(exc))
    total = catalogue_size(query)
    first = (page - 1) * per_page
    videos = [video_entry(request, query, index, orientation) for index in range(first, min(total, first + per_page))]
    here = request.build_absolute_uri(request.path)
    params = {key: value for key, value in request.GET.items()}
    body = {"page": page, "per_page": per_page, "total_results": total,
            "url": f"https://www.pexels.com/search/videos/{_slug(query)}/", "videos": videos}
    if first + per_page < total:
        body["next_page"] = f"{here}?{urlencode({**params, 'page': page + 1})}"
    if page > 1:
        body["prev_page"] = f"{here}?{urlencode({**params, 'page': page - 1})}"
    return _rate_headers(JsonResponse(body))


def files_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "sandbox_pexels"
    path.mkdir(parents=True, exist_ok=True)
    return path


def draw_video(vid: int, width: int, height: int, target: Path) -> None:
    """A labelled Game of Life in the video's own palette, as long as the catalogue says."""
    dead, alive, mould = _PALETTES[vid % len(_PALETTES)]
    cell = max(2, width // 90)
    grid = f"{max(8, width // cell)}x{max(8, height // cell)}"
    font = str(find_font().path).replace("\\", "/").replace(":", "\\:")
    label = f"Pexels sandbox {vid}"
    graph = (f"life=s={grid}:r=15:mold=12:ratio=0.2:seed={vid % 100_000}:life_color={alive}:"
             f"death_color={dead}:mold_color={mould},scale={width}:{height}:flags=neighbor,fps=30,"
             f"drawtext=fontfile='{font}':text='{label}':x=(w-tw)/2:y=h*0.45:fontsize={max(12, width // 15)}:"
             f"fontcolor=white:box=1:boxcolor=black@0.4")
    # Two first downloads at once each draw their own copy; the last rename wins, both are whole.
    partial = target.with_name(f"{target.stem}.{uuid.uuid4().hex[:8]}.part.mp4")
    try:
        run_ffmpeg(["-y", "-f", "lavfi", "-i", graph, "-t", str(video_seconds(vid)), "-an", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4",
                    str(partial)], timeout=300)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)


@require_GET
def video_file(request, video_id: int, filename: str):
    """A file link from a search: public like a CDN (no key), still subject to faults."""
    faulted = faults.apply_faults(TARGET, request)
    if faulted is not None:
        return faulted
    match = _FILE_NAME.match(filename)
    if not match or int(match.group(1)) != video_id:
        return _error(404, f"no video file {filename!r}")
    width, height = int(match.group(3)), int(match.group(4))
    if width % 2 or height % 2 or max(width, height) > 1920:
        return _error(404, f"no video file {filename!r}")
    target = files_dir() / filename
    if not target.exists():
        draw_video(video_id, width, height, target)
    return FileResponse(target.open("rb"), content_type="video/mp4")
