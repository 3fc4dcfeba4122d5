"""Live progress on the asset page and list: small partials that htmx (served from static) polls.

The page polls its asset's panel; the list polls one partial for the rows still moving, whose cells
come back as out-of-band swaps. A partial answers 286 once nothing it shows can change on its own,
which tells htmx to stop polling.
"""

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html

from pipeline.progress import MOVING_STATES, asset_progress, list_progress

# htmx stops polling an element whose request is answered with this status (htmx docs, "hx-trigger").
STOP_POLLING = 286
MAX_IDS = 200


def progress_cell(asset) -> str:
    """The list's progress cell: what the list poll replaces (by its id) while the asset moves."""
    if asset.state not in MOVING_STATES:
        return format_html('<span id="progress-{}" class="ph-progress">—</span>', asset.pk)
    # Read for the whole page at once (ProgressMixin.get_changelist_instance); one asset alone otherwise.
    progress = getattr(asset, "progress_on_page", None) or asset_progress(asset)
    return render_to_string("admin/pipeline/asset/includes/progress_cell.html", {"p": progress})


class ProgressMixin:
    def get_urls(self):
        return [
            path("progress/", self.admin_site.admin_view(self.list_progress_view), name="pipeline_asset_progress_list"),
            path("<path:object_id>/progress/", self.admin_site.admin_view(self.progress_view),
                 name="pipeline_asset_progress"),
        ] + super().get_urls()

    def get_changelist_instance(self, request):
        """The page's rows with their progress, read for all the moving ones together: a page of 100
        costs the queries of one (pipeline.progress.list_progress), not a few per row."""
        changelist = super().get_changelist_instance(request)
        moving = [asset for asset in changelist.result_list if asset.state in MOVING_STATES]
        for asset, progress in zip(moving, list_progress(moving), strict=True):
            asset.progress_on_page = progress
        return changelist

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        asset = self.get_object(request, unquote(object_id))
        if asset is not None:
            p = asset_progress(asset)
            extra_context["progress_url"] = reverse("admin:pipeline_asset_progress", args=[asset.pk])
            extra_context["progress_html"] = render_to_string("admin/pipeline/asset/includes/progress.html", {"p": p})
            extra_context["progress_moving"] = p["moving"]
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        extra_context["progress_list_url"] = reverse("admin:pipeline_asset_progress_list")
        extra_context["moving_states"] = MOVING_STATES
        return super().changelist_view(request, extra_context)

    def progress_view(self, request, object_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        asset = self.get_object(request, unquote(object_id))
        if asset is None:
            raise Http404
        p = asset_progress(asset)
        html = render_to_string("admin/pipeline/asset/includes/progress.html", {"p": p}, request=request)
        return HttpResponse(html, status=200 if p["moving"] else STOP_POLLING)

    def list_progress_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        raw = [part for part in request.GET.get("ids", "").split(",") if part.strip()]
        if len(raw) > MAX_IDS or not all(part.strip().isdigit() for part in raw):
            return HttpResponse(f"ids: a comma-separated list of at most {MAX_IDS} asset ids", status=400,
                                content_type="text/plain")
        ids = [int(part) for part in raw]
        assets = list(self.get_queryset(request).filter(pk__in=ids).order_by("pk"))
        items = list_progress(assets)
        html = render_to_string("admin/pipeline/asset/includes/progress_cells.html", {"items": items})
        moving = any(item["moving"] for item in items)
        return HttpResponse(html, status=200 if moving else STOP_POLLING)
