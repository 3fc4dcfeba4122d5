"""Media files: to staff who may see the asset (the admin's players), to services by signed link.

Nothing under MEDIA_ROOT is public: drafts are unpublished work. Staff reach an asset's files through
`staff_media`, which checks the permission and the asset's team; platforms and the render service get
signed, expiring links (pipeline.services.signed_media). Files are named by their content's hash
(pipeline.stages.content_addressed), so a long private cache is safe: a new take is a new URL.
"""

import mimetypes

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, JsonResponse
from django.views.decorators.http import require_GET
from django.views.static import serve

from pipeline.selectors import media_owner
from pipeline.services.signed_media import LinkError, resolve


@require_GET
def signed_media(request, token: str, filename: str):
    try:
        path = resolve(token, filename)
    except LinkError as exc:
        return JsonResponse({"error": exc.message}, status=exc.status)
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path.open("rb"), content_type=content_type)


@require_GET
def staff_media(request, path: str):
    """One of an asset's files, for a signed-in staff member who may view that asset."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path(), login_url="admin:login")
    if not (user.is_active and user.is_staff and user.has_perm("pipeline.view_asset")):
        raise PermissionDenied("you may not view assets")
    if media_owner(path, user) is None:
        raise Http404("no such file")
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    # Content-addressed names never change content: the browser may keep them, only for this user.
    response["Cache-Control"] = "private, max-age=86400"
    return response
