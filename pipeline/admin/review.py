"""The review queue and the transition buttons (approve, reject, send back, cancel) on the asset admin."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_fsm import can_proceed, has_transition_perm

from phantoms.admin import admin_page
from pipeline.admin.forms import ReviewNotesForm
from pipeline.models import Asset
from pipeline.selectors import awaiting_review
from pipeline.services.review import ReviewError, approve_asset, cancel_asset, reject_asset

APPROVE_PERMISSION = "pipeline.approve_asset"
REJECT_PERMISSION = "pipeline.reject_asset"

# Transition buttons: (transition method, button label, needs notes, permission kind).
TRANSITIONS = {
    "approve": ("approve", "Approve", False, "approve"),
    "reject": ("reject", "Reject", False, "reject"),
    "send_back": ("send_back", "Send back to scripting", True, "reject"),
    "cancel": ("cancel", "Cancel", False, "change"),
}


def render_preview(asset) -> str:
    """Script beside the players: the same block on the change page and in the review queue."""
    return render_to_string("admin/pipeline/asset/includes/preview.html", {"asset": asset,
                                                                           "script": asset.script or {}})


class ReviewActionsMixin:
    """For the asset admin: who may move an asset, the buttons for it, the review queue page."""

    actions = ("approve_selected", "reject_selected", "send_back_selected", "cancel_selected")

    # --- permissions: the same ones the transitions carry (pipeline.models.Asset)
    def has_approve_permission(self, request, obj=None):
        return request.user.has_perm(APPROVE_PERMISSION)

    def has_reject_permission(self, request, obj=None):
        return request.user.has_perm(REJECT_PERMISSION)

    def has_review_permission(self, request, obj=None):
        return self.has_approve_permission(request) or self.has_reject_permission(request)

    def _has_kind(self, request, kind, asset=None) -> bool:
        if kind == "approve":
            return self.has_approve_permission(request, asset)
        if kind == "reject":
            return self.has_reject_permission(request, asset)
        return self.has_change_permission(request, asset)

    def _may(self, request, name, asset) -> bool:
        method_name, _, _, kind = TRANSITIONS[name]
        method = getattr(asset, method_name)
        if not can_proceed(method) or not has_transition_perm(method, request.user):
            return False
        return self._has_kind(request, kind, asset)

    def available_transitions(self, request, asset):
        return [
            {"name": name, "label": label, "needs_notes": needs_notes,
             "url": reverse("admin:pipeline_asset_transition", args=[asset.pk, name])}
            for name, (_, label, needs_notes, _) in TRANSITIONS.items()
            if self._may(request, name, asset)
        ]

    # --- views
    def get_urls(self):
        urls = [
            path("review/", self.admin_site.admin_view(self.review_queue_view), name="pipeline_asset_review"),
            path("<path:object_id>/transition/<str:name>/", self.admin_site.admin_view(self.transition_view),
                 name="pipeline_asset_transition"),
        ]
        return urls + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        asset = self.get_object(request, unquote(object_id))
        if asset is not None:
            extra_context["transitions"] = self.available_transitions(request, asset)
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        extra_context["awaiting_review"] = awaiting_review(request.user).count()
        return super().changelist_view(request, extra_context)

    def review_queue_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        queryset = awaiting_review(request.user).prefetch_related("channels")
        page = Paginator(queryset, 10).get_page(request.GET.get("page"))
        here = request.get_full_path()
        items = [
            {"asset": asset, "preview": render_preview(asset), "id_suffix": f"-{asset.pk}",
             "transitions": [t for t in self.available_transitions(request, asset) if t["name"] != "cancel"]}
            for asset in page.object_list
        ]
        return admin_page(self, request, "admin/pipeline/asset/review_queue.html", "Review queue",
                          page=page, items=items, next=here, can_review=self.has_review_permission(request))

    def transition_view(self, request, object_id, name):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if name not in TRANSITIONS:
            raise Http404
        asset = self.get_object(request, unquote(object_id))
        if asset is None:
            raise Http404
        _, label, needs_notes, kind = TRANSITIONS[name]
        if not self._has_kind(request, kind, asset):
            raise PermissionDenied
        notes = request.POST.get("notes", "").strip()
        self._apply_one(request, asset.pk, name, notes)
        next_url = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
            next_url = reverse("admin:pipeline_asset_change", args=[asset.pk])
        return HttpResponseRedirect(next_url)

    def _apply_one(self, request, asset_id, name, notes="") -> bool:
        try:
            if name == "approve":
                asset = approve_asset(asset_id, user=request.user, notes=notes)
            elif name == "reject":
                asset = reject_asset(asset_id, user=request.user, notes=notes)
            elif name == "send_back":
                asset = reject_asset(asset_id, user=request.user, notes=notes, rewrite=True)
            else:
                asset = cancel_asset(asset_id, user=request.user, reason=notes)
        except ReviewError as exc:
            messages.error(request, f"Asset {asset_id} not changed: {exc}")
            return False
        except Asset.DoesNotExist:
            messages.error(request, f"Asset {asset_id} no longer exists")
            return False
        messages.success(request, f"Asset {asset_id} ({asset}) is now {asset.get_state_display().lower()}.")
        return True

    # --- bulk actions
    def _apply_all(self, request, queryset, name, notes=""):
        done = 0
        for asset_id in queryset.order_by("id").values_list("id", flat=True):
            done += self._apply_one(request, asset_id, name, notes)
        if done == 0:
            messages.warning(request, f"No asset was changed ({TRANSITIONS[name][1].lower()}).")

    def _with_notes(self, request, queryset, name, *, required):
        """Ask for notes on an intermediate page, then apply once the editor confirms."""
        form = ReviewNotesForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            notes = form.cleaned_data["notes"].strip()
            if required and not notes:
                form.add_error("notes", "Say what the rewrite should change.")
            else:
                self._apply_all(request, queryset, name, notes)
                return None
        return admin_page(
            self, request, "admin/pipeline/asset/review_notes.html", f"{TRANSITIONS[name][1]}: selected assets",
            assets=queryset.order_by("id"), form=form, action=request.POST.get("action"),
            action_label=TRANSITIONS[name][1], notes_required=required,
            action_checkbox_name=admin.helpers.ACTION_CHECKBOX_NAME,
            select_across=request.POST.get("select_across", "0"),
        )

    @admin.action(description="Approve selected assets", permissions=["approve"])
    def approve_selected(self, request, queryset):
        self._apply_all(request, queryset, "approve")

    @admin.action(description="Reject selected assets", permissions=["reject"])
    def reject_selected(self, request, queryset):
        return self._with_notes(request, queryset, "reject", required=False)

    @admin.action(description="Send selected assets back to scripting", permissions=["reject"])
    def send_back_selected(self, request, queryset):
        return self._with_notes(request, queryset, "send_back", required=True)

    @admin.action(description="Cancel selected assets", permissions=["change"])
    def cancel_selected(self, request, queryset):
        self._apply_all(request, queryset, "cancel")
