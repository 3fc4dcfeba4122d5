"""Files served to other services by signed link (pipeline.services.signed_media)."""

import mimetypes

from django.http import FileResponse, JsonResponse
from django.views.decorators.http import require_GET

from pipeline.services.signed_media import LinkError, resolve


@require_GET
def signed_media(request, token: str, filename: str):
    try:
        path = resolve(token, filename)
    except LinkError as exc:
        return JsonResponse({"error": exc.message}, status=exc.status)
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path.open("rb"), content_type=content_type)
