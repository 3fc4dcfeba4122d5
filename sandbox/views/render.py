"""A Shotstack-shaped render service that renders real MP4s with the bundled ffmpeg.

`duration` in the request body is our extension: Shotstack works it out from the timeline, and
the sandbox has no reason to interpret timelines.
"""

import hashlib
import hmac
import json
import logging
import re
import subprocess
import threading
import time
import uuid
from pathlib import Path

import httpx
from django.conf import settings
from django.db import close_old_connections, connections
from django.http import FileResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from sandbox import faults
from sandbox.models import SandboxRender

from .common import gate, json_body

logger = logging.getLogger(__name__)

TARGET = "render"
WIDTH, HEIGHT, FPS = 1080, 1920, 30
MAX_DURATION = 180.0
CALLBACK_TIMEOUT = 5.0
# Two encoders at once keep a small machine responsive; more renders simply queue.
_encoder_slots = threading.BoundedSemaphore(2)
_HEX_COLOR = re.compile(r"^#?([0-9a-fA-F]{6})$")


def renders_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "sandbox_renders"
    path.mkdir(parents=True, exist_ok=True)
    return path


def output_path(render_id: str) -> Path:
    return renders_dir() / f"{render_id}.mp4"


def _invalid(message: str) -> JsonResponse:
    return faults.error_response(TARGET, 400, message, code="invalid_request")


def sign(body: bytes, timestamp: str, secret: str) -> str:
    """The callback signature: HMAC-SHA256 over "<timestamp>.<body>", so a replayed body with a
    fresh timestamp does not verify."""
    message = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _background_color(payload: dict, render_id: str) -> str:
    timeline = payload.get("timeline") or {}
    match = _HEX_COLOR.match(str(timeline.get("background", "")))
    if match:
        return "0x" + match.group(1)
    # A colour per render makes different renders tell apart at a glance.
    return "0x" + hashlib.sha256(render_id.encode()).hexdigest()[:6]


def _ffmpeg_command(render: SandboxRender, target: Path) -> list[str]:
    import imageio_ffmpeg

    duration = f"{render.duration_seconds:.3f}"
    color = _background_color(render.payload, render.render_id)
    return [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-hide_banner", "-loglevel", "error", "-nostdin",
        "-f", "lavfi", "-i", f"color=c={color}:s={WIDTH}x{HEIGHT}:r={FPS}:d={duration}",
        "-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo",
        "-t", duration,
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "64k",
        "-shortest", "-movflags", "+faststart", "-f", "mp4",
        str(target),
    ]


def _set(render: SandboxRender, **fields) -> None:
    for name, value in fields.items():
        setattr(render, name, value)
    render.save(update_fields=[*fields, "updated_at"])


def _deliver_callback(render: SandboxRender) -> None:
    body = json.dumps({"type": "edit", "action": "render", "id": render.render_id,
                       "status": render.status, "url": render.url or None,
                       "error": render.error or None}).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Phantoms-Timestamp": timestamp,
        "X-Phantoms-Signature": sign(body, timestamp, settings.RENDER_WEBHOOK_SECRET),
    }
    try:
        response = httpx.post(render.callback_url, content=body, headers=headers, timeout=CALLBACK_TIMEOUT)
        outcome = str(response.status_code)
    except httpx.HTTPError as exc:
        # A lost callback is a real-world failure the client must survive by polling.
        outcome = f"error: {exc!r}"[:100]
    _set(render, callback_status=outcome)


def run_render(render_id: str, output_url: str) -> None:
    """Render one queued job to completion. Runs on a background thread of the web process."""
    close_old_connections()
    try:
        render = SandboxRender.objects.get(render_id=render_id)
        target = output_path(render_id)
        partial = target.with_suffix(".part.mp4")
        with _encoder_slots:
            _set(render, status=SandboxRender.RENDERING)
            try:
                result = subprocess.run(_ffmpeg_command(render, partial), capture_output=True, text=True,
                                        timeout=max(120.0, render.duration_seconds * 10))
            except (OSError, subprocess.TimeoutExpired) as exc:
                result = None
                failure = f"ffmpeg could not run: {exc!r}"
        if result is not None and result.returncode == 0 and partial.exists():
            partial.replace(target)
            _set(render, status=SandboxRender.DONE, url=output_url)
        else:
            if result is not None:
                failure = f"ffmpeg exited {result.returncode}: {result.stderr.strip()[-500:]}"
            partial.unlink(missing_ok=True)
            _set(render, status=SandboxRender.FAILED, error=failure)
        if render.callback_url:
            _deliver_callback(render)
    except Exception:
        logger.exception("sandbox render %s crashed", render_id)
        SandboxRender.objects.filter(render_id=render_id).update(
            status=SandboxRender.FAILED, error="the sandbox renderer crashed")
    finally:
        # This thread's connection would otherwise stay open until the process exits.
        connections.close_all()


@csrf_exempt
@require_POST
def create_render(request):
    faulted = gate(request, TARGET)
    if faulted is not None:
        return faulted
    body, error = json_body(request, TARGET)
    if error is not None:
        return error
    if not isinstance(body.get("timeline"), dict):
        return _invalid("timeline is required and must be an object.")
    output = body.get("output") or {}
    if not isinstance(output, dict):
        return _invalid("output must be an object.")
    if output.get("format", "mp4") != "mp4":
        return _invalid("the sandbox renders only output.format 'mp4'.")
    try:
        duration = float(body.get("duration", 5.0))
    except (TypeError, ValueError):
        return _invalid("duration must be a number of seconds.")
    if not 0 < duration <= MAX_DURATION:
        return _invalid(f"duration must be more than 0 and at most {MAX_DURATION:g} seconds.")
    callback = body.get("callback") or ""
    if callback and not (isinstance(callback, str) and callback.startswith(("http://", "https://"))):
        return _invalid("callback must be an http(s) URL.")

    render_id = str(uuid.uuid4())
    SandboxRender.objects.create(render_id=render_id, payload=body, duration_seconds=duration,
                                 callback_url=callback)
    output_url = request.build_absolute_uri(reverse("sandbox:render-output", args=[render_id]))
    threading.Thread(target=run_render, args=(render_id, output_url), name=f"sandbox-render-{render_id[:8]}",
                     daemon=True).start()
    return JsonResponse({"success": True, "message": "Created",
                         "response": {"id": render_id, "message": "Render Successfully Queued"}}, status=201)


def _not_found(render_id: str) -> JsonResponse:
    return faults.error_response(TARGET, 404, f"No render with id {render_id!r}.", code="not_found")


@csrf_exempt
@require_GET
def render_status(request, render_id: str):
    faulted = gate(request, TARGET)
    if faulted is not None:
        return faulted
    render = SandboxRender.objects.filter(render_id=render_id).first()
    if render is None:
        return _not_found(render_id)
    response = {
        "id": render.render_id,
        "status": render.status,
        "duration": render.duration_seconds,
        "created": render.created_at.isoformat(),
        "updated": render.updated_at.isoformat(),
    }
    if render.status == SandboxRender.DONE:
        response["url"] = render.url
    if render.status == SandboxRender.FAILED:
        response["error"] = render.error
    return JsonResponse({"success": True, "message": "OK", "response": response})


@require_GET
def render_output(request, render_id: str):
    """The finished file. Public like a CDN link (no bearer), but still subject to render faults."""
    faulted = faults.apply_faults(TARGET, request)
    if faulted is not None:
        return faulted
    render = SandboxRender.objects.filter(render_id=render_id, status=SandboxRender.DONE).first()
    path = output_path(render_id)
    if render is None or not path.exists():
        return _not_found(render_id)
    return FileResponse(path.open("rb"), content_type="video/mp4", filename=f"{render_id}.mp4")
