"""A render service in the shape of Shotstack's Edit API that renders the timeline it is given.

Relies on the Shotstack API reference: "Render Asset" (`POST /render`, `x-api-key` header, an Edit
body, `201` with `{"success", "message", "response": {"message", "id"}}`), "Get Render Status"
(`GET /render/{id}`: `queued`, `fetching`, `preprocessing`, `rendering`, `saving`, `done`,
`failed`, with `url`, `poster`, `error`, `duration`, `renderTime`), and the "Webhooks" guide (an
unsigned POST of `{"type": "edit", "action": "render", "id", "owner", "status", "url", "error",
"completed"}` to the edit's `callback` when the render is done or failed). Validation and the
rendering itself live in sandbox.timeline.

With SANDBOX_RENDER_SECONDS above 0 a render is simulated: it passes through the same statuses over
that many seconds (worked out from its age when asked, so hundreds in flight cost no threads or
queries until they finish) and ends with a placeholder video of the timeline's length, made once
per length; no timeline is encoded. An `accept_then_timeout` fault (sandbox_faults) creates the
render and then holds the answer past the client's timeout: the render runs, and its callback is
delivered, though the client never learned its id.
"""

import logging
import shutil
import subprocess
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
# Simulated renders finish on timers; a few at a time touch the database.
_finish_slots = threading.BoundedSemaphore(4)
_placeholders: dict[float, Path] = {}
_placeholder_lock = threading.Lock()
# Where a simulated render is in its processing time, as (fraction reached, status).
SIMULATED_STEPS = ((0.95, SandboxRender.SAVING), (0.15, SandboxRender.RENDERING),
                   (0.10, SandboxRender.PREPROCESSING), (0.05, SandboxRender.FETCHING))


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


def _placeholder(duration: float) -> Path:
    """A small video of `duration` seconds (and its poster), made once per length: the simulated output."""
    import imageio_ffmpeg

    key = round(max(0.1, duration), 1)
    with _placeholder_lock:
        path = _placeholders.get(key)
        if path is not None and path.exists():
            return path
        path = renders_dir() / f"placeholder-{key:.1f}.mp4"
        if not path.exists():
            partial = path.with_suffix(".part.mp4")
            subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                            f"color=c=0x336699:s=108x192:r=15:d={key}", "-f", "lavfi", "-i",
                            "anullsrc=r=22050:cl=mono", "-t", str(key), "-c:v", "libx264", "-preset", "ultrafast",
                            "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(partial)],
                           check=True, timeout=60)
            partial.replace(path)
        _placeholders[key] = path
        return path


def finish_simulated(render_id: str, output_url: str, poster_url: str) -> None:
    """The end of a simulated render: the placeholder as its output, then the callback."""
    try:
        with _finish_slots:
            close_old_connections()
            render = SandboxRender.objects.get(render_id=render_id)
            target = output_path(render_id)
            shutil.copyfile(_placeholder(render.duration_seconds), target)
            fields = {"url": output_url}
            if (render.payload.get("output") or {}).get("poster") is not None:
                shutil.copyfile(_placeholder_poster(render.duration_seconds), poster_path(render_id))
                fields["poster_url"] = poster_url
            _set(render, status=SandboxRender.DONE, render_ms=int(settings.SANDBOX_RENDER_SECONDS * 1000), **fields)
            connections.close_all()
        if render.callback_url:
            _deliver_callback(render)
    except Exception:
        logger.exception("simulated sandbox render %s crashed", render_id)
        SandboxRender.objects.filter(render_id=render_id).update(
            status=SandboxRender.FAILED, error="the sandbox renderer crashed")
    finally:
        connections.close_all()


def _placeholder_poster(duration: float) -> Path:
    import imageio_ffmpeg

    video = _placeholder(duration)
    poster = video.with_suffix(".jpg")
    with _placeholder_lock:
        if not poster.exists():
            timeline.poster(video, 0.0, imageio_ffmpeg.get_ffmpeg_exe(), poster)
    return poster


def simulated_status(render: SandboxRender) -> str:
    """A simulated render's status, from its age: no thread keeps it up to date."""
    if render.status in (SandboxRender.DONE, SandboxRender.FAILED) or settings.SANDBOX_RENDER_SECONDS <= 0:
        return render.status
    fraction = (timezone.now() - render.created_at).total_seconds() / settings.SANDBOX_RENDER_SECONDS
    return next((status for reached, status in SIMULATED_STEPS if fraction >= reached), SandboxRender.QUEUED)


def _accept(request, body: dict, edit) -> str:
    """Create the render and start it: the service has accepted the job."""
    render_id = str(uuid.uuid4())
    SandboxRender.objects.create(render_id=render_id, payload=body, duration_seconds=edit.duration,
                                 callback_url=edit.callback)
    output_url = request.build_absolute_uri(reverse("sandbox:render-output", args=[render_id]))
    poster_url = request.build_absolute_uri(reverse("sandbox:render-poster", args=[render_id]))
    if settings.SANDBOX_RENDER_SECONDS > 0:
        timer = threading.Timer(settings.SANDBOX_RENDER_SECONDS, finish_simulated,
                                args=(render_id, output_url, poster_url))
        timer.daemon = True
        timer.name = f"sandbox-render-{render_id[:8]}"
        timer.start()
    else:
        threading.Thread(target=run_render, args=(render_id, output_url, poster_url),
                         name=f"sandbox-render-{render_id[:8]}", daemon=True).start()
    return render_id


@csrf_exempt
@require_POST
def create_render(request):
    if not request.headers.get("x-api-key", "").strip():
        faults.count_call(TARGET)
        return faults.error_response(TARGET, 401, "Missing x-api-key header.", code="unauthorized")
    body, error = json_body(request, TARGET)
    edit = None
    if error is None:
        try:
            edit = timeline.validate(body)
        except timeline.EditError as exc:
            error = validation_error(exc)
    # A valid edit can be accepted and its answer then lost (accept_then_timeout).
    on_accept = (lambda: _accept(request, body, edit)) if edit is not None else None
    faulted = faults.apply_faults(TARGET, request, on_accept=on_accept)
    if faulted is not None:
        return faulted
    if error is not None:
        return error
    render_id = _accept(request, body, edit)
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
        "status": simulated_status(render),
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
