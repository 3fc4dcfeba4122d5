"""Media files: to staff who may see the asset (the admin's players), to services by signed link.

Nothing under MEDIA_ROOT is public: drafts are unpublished work. Staff reach an asset's files through
`staff_media`, which checks the permission and the asset's team; platforms and the render service get
signed, expiring links (pipeline.services.signed_media). Files are named by their content's hash
(pipeline.stages.content_addressed), so a long private cache is safe: a new take is a new URL.
"""

import mimetypes
import re
from pathlib import Path

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from pipeline.selectors import media_owner
from pipeline.services.signed_media import LinkError, resolve

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024


def _chunks(path: Path, start: int, length: int):
    with path.open("rb") as handle:
        handle.seek(start)
        while length > 0:
            data = handle.read(min(CHUNK, length))
            if not data:
                return
            length -= len(data)
            yield data


def media_response(request, path: Path):
    """The file, or the one byte range asked for (RFC 9110 §14): players seek in a video by range, and
    Safari will not play a video whose server ignores ranges. Several ranges get the whole file."""
    size = path.stat().st_size
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    match = RANGE.match(request.headers.get("Range", "").strip())
    if match and match.group(1) + match.group(2):
        first, last = match.groups()
        if first:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        else:  # a suffix: the last N bytes
            start, end = max(size - int(last), 0), size - 1
        if start >= size or start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        response = StreamingHttpResponse(_chunks(path, start, end - start + 1), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    else:
        response = FileResponse(path.open("rb"), content_type=content_type)
    response["Accept-Ranges"] = "bytes"
    response["Last-Modified"] = http_date(path.stat().st_mtime)
    return response


@require_safe
def signed_media(request, token: str, filename: str):
    try:
        path = resolve(token, filename)
    except LinkError as exc:
        return JsonResponse({"error": exc.message}, status=exc.status)
    return media_response(request, path)


@require_safe
def staff_media(request, path: str):
    """One of an asset's files, for a signed-in staff member who may view that asset."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path(), login_url="admin:login")
    if not (user.is_active and user.is_staff and user.has_perm("pipeline.view_asset")):
        raise PermissionDenied("you may not view assets")
    if media_owner(path, user) is None:
        raise Http404("no such file")
    file = (Path(settings.MEDIA_ROOT) / path).resolve()
    if not file.is_relative_to(Path(settings.MEDIA_ROOT).resolve()) or not file.is_file():
        raise Http404("no such file")
    response = media_response(request, file)
    # Content-addressed names never change content: the browser may keep them, only for this user.
    response["Cache-Control"] = "private, max-age=86400"
    return response
