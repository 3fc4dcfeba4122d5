"""A render service in the shape of Shotstack's Edit API that renders the timeline it is given.

Relies on the Shotstack API reference: "Render Asset" (`POST /render`, `x-api-key` header, an Edit
body, `201` with `{"success", "message", "response": {"message", "id"}}`), "Get Render Status"
(`GET /render/{id}`: `queued`, `fetching`, `preprocessing`, `rendering`, `saving`, `done`,
`failed`, with `url`, `poster`, `error`, `duration`, `renderTime`), and the "Webhooks" guide (an
unsigned POST of `{"type": "edit", "action": "render", "id", "owner", "status", "url", "error",
"completed"}` to the edit's `callback` when the render is done or failed). Validation and the
rendering itself live in sandbox.timeline.
"""

import logging
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from django.conf import settings
from django.db import close_old_connections, connections
from django.http import FileResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from sandbox import faults, timeline
from sandbox.models import SandboxRender

from .common import json_body

logger = logging.getLogger(__name__)

TARGET = "render"
OWNER = "sandbox"
CALLBACK_TIMEOUT = 5.0
# Two encoders at once keep a small machine responsive; more renders simply queue.
_encoder_slots = threading.BoundedSemaphore(2)


def renders_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "sandbox_renders"
    path.mkdir(parents=True, exist_ok=True)
    return path


def output_path(render_id: str) -> Path:
    return renders_dir() / f"{render_id}.mp4"


def poster_path(render_id: str) -> Path:
    return renders_dir() / f"{render_id}-poster.jpg"


def _gate(request):
    """Shotstack authenticates with the x-api-key header; then the injected faults."""
    if not request.headers.get("x-api-key", "").strip():
        faults.count_call(TARGET)
        return faults.error_response(TARGET, 401, "Missing x-api-key header.", code="unauthorized")
    return faults.apply_faults(TARGET, request)


def validation_error(error: timeline.EditError) -> JsonResponse:
    detail = {"message": str(error), "path": error.path.replace("]", "").replace("[", ".").split("."),
              "type": error.kind}
    return JsonResponse({"success": False, "message": str(error),
                         "response": {"error": {"name": "ValidationError", "details": [detail]}}}, status=400)


def _set(render: SandboxRender, **fields) -> None:
    for name, value in fields.items():
        setattr(render, name, value)
    render.save(update_fields=[*fields, "updated_at"])


def _deliver_callback(render: SandboxRender) -> None:
    body = {"type": "edit", "action": "render", "id": render.render_id, "owner": OWNER, "status": render.status,
            "url": render.url or None, "error": render.error or None,
            "completed": timezone.now().isoformat().replace("+00:00", "Z")}
    try:
        response = httpx.post(render.callback_url, json=body, timeout=CALLBACK_TIMEOUT)
        outcome = str(response.status_code)
    except httpx.HTTPError as exc:
        # A lost callback is a real-world failure the client must survive by polling.
        outcome = f"error: {exc!r}"[:100]
    _set(render, callback_status=outcome)


def run_render(render_id: str, output_url: str, poster_url: str) -> None:
    """Render one queued job to completion. Runs on a background thread of the web process."""
    import imageio_ffmpeg

    close_old_connections()
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix=f"sandbox-render-{render_id[:8]}-"))
    try:
        render = SandboxRender.objects.get(render_id=render_id)
        edit = timeline.validate(render.payload)
        ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
        try:
            _set(render, status=SandboxRender.FETCHING)
            timeline.fetch_sources(edit, workdir)
            _set(render, status=SandboxRender.PREPROCESSING)
            timeline.check_sources(edit, ffmpeg)
            with _encoder_slots:
                _set(render, status=SandboxRender.RENDERING)
                target = output_path(render_id)
                timeline.render(edit, ffmpeg, target, workdir, timeout=max(120.0, edit.duration * 10))
            _set(render, status=SandboxRender.SAVING)
            fields = {"url": output_url}
            if edit.poster is not None:
                timeline.poster(target, min(edit.poster, edit.duration), ffmpeg, poster_path(render_id))
                fields["poster_url"] = poster_url
            _set(render, status=SandboxRender.DONE, render_ms=int((time.monotonic() - started) * 1000), **fields)
        except timeline.RenderFailed as exc:
            _set(render, status=SandboxRender.FAILED, error=str(exc))
        if render.callback_url:
            _deliver_callback(render)
    except Exception:
        logger.exception("sandbox render %s crashed", render_id)
        SandboxRender.objects.filter(render_id=render_id).update(
            status=SandboxRender.FAILED, error="the sandbox renderer crashed")
    finally:
        timeline.clean(workdir)
        # This thread's connection would otherwise stay open until the process exits.
        connections.close_all()


@csrf_exempt
@require_POST
def create_render(request):
    faulted = _gate(request)
    if faulted is not None:
        return faulted
    body, error = json_body(request, TARGET)
    if error is not None:
        return error
    try:
        edit = timeline.validate(body)
    except timeline.EditError as exc:
        return validation_error(exc)
    render_id = str(uuid.uuid4())
    SandboxRender.objects.create(render_id=render_id, payload=body, duration_seconds=edit.duration,
                                 callback_url=edit.callback)
    output_url = request.build_absolute_uri(reverse("sandbox:render-output", args=[render_id]))
    poster_url = request.build_absolute_uri(reverse("sandbox:render-poster", args=[render_id]))
    threading.Thread(target=run_render, args=(render_id, output_url, poster_url),
                     name=f"sandbox-render-{render_id[:8]}", daemon=True).start()
    return JsonResponse({"success": True, "message": "Created",
                         "response": {"id": render_id, "message": "Render Successfully Queued"}}, status=201)


def _not_found(render_id: str) -> JsonResponse:
    return faults.error_response(TARGET, 404, f"No render with id {render_id!r}.", code="not_found")


@csrf_exempt
@require_GET
def render_status(request, render_id: str):
    faulted = _gate(request)
    if faulted is not None:
        return faulted
    render = SandboxRender.objects.filter(render_id=render_id).first()
    if render is None:
        return _not_found(render_id)
    response = {
        "id": render.render_id,
        "owner": OWNER,
        "plan": "sandbox",
        "status": render.status,
        "error": render.error if render.status == SandboxRender.FAILED else "",
        "duration": render.duration_seconds,
        "renderTime": render.render_ms,
        "url": render.url if render.status == SandboxRender.DONE else None,
        "poster": (render.poster_url or None) if render.status == SandboxRender.DONE else None,
        "thumbnail": None,
        "data": render.payload,
        "created": render.created_at.isoformat().replace("+00:00", "Z"),
        "updated": render.updated_at.isoformat().replace("+00:00", "Z"),
    }
    return JsonResponse({"success": True, "message": "OK", "response": response})


def _finished_file(request, render_id: str, path: Path, content_type: str):
    faulted = faults.apply_faults(TARGET, request)
    if faulted is not None:
        return faulted
    render = SandboxRender.objects.filter(render_id=render_id, status=SandboxRender.DONE).first()
    if render is None or not path.exists():
        return _not_found(render_id)
    return FileResponse(path.open("rb"), content_type=content_type, filename=path.name)


@require_GET
def render_output(request, render_id: str):
    """The finished file. Public like a CDN link (no key), but still subject to render faults."""
    return _finished_file(request, render_id, output_path(render_id), "video/mp4")


@require_GET
def render_poster(request, render_id: str):
    return _finished_file(request, render_id, poster_path(render_id), "image/jpeg")
