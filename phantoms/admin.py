"""The breakers page and the pieces every Phantoms admin shares (state badges, read-only admins)."""

import logging

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from phantoms.models import Breaker, BreakerEvent
from phantoms.resilience.breakers import all_breakers, get_breaker

logger = logging.getLogger("phantoms.admin")

# One palette for every state machine, so "failed" looks the same on assets, publications and breakers.
STATE_COLOURS = {
    "draft": "#6b7280",
    "scripting": "#2563eb",
    "voicing": "#2563eb",
    "rendering": "#2563eb",
    "awaiting_review": "#d97706",
    "approved": "#0d9488",
    "publishing": "#0d9488",
    "published": "#16a34a",
    "partially_published": "#ca8a04",
    "rejected": "#7c3aed",
    "cancelled": "#6b7280",
    "failed": "#dc2626",
    "pending": "#6b7280",
    "uploading": "#2563eb",
    "processing": "#2563eb",
    "needs_attention": "#ea580c",
    "scheduled": "#6b7280",
    "taken": "#16a34a",
    "open": "#dc2626",
    "half-open": "#d97706",
    "closed": "#16a34a",
    "requeued": "#2563eb",
    "discarded": "#6b7280",
}


def badge(value: str, label: str | None = None):
    colour = STATE_COLOURS.get(value, "#6b7280")
    # Styled inline so every changelist shows it without a stylesheet of its own.
    return format_html('<span class="ph-badge" style="display:inline-block;padding:1px 8px;border-radius:9px;'
                       'color:#fff;font-weight:600;white-space:nowrap;background:{}">{}</span>', colour,
                       label or value.replace("_", " "))


def external_link(url: str):
    if not url:
        return "—"
    return format_html('<a href="{0}" target="_blank" rel="noopener">{0}</a>', url)


def admin_page(model_admin, request, template: str, title: str, **context) -> TemplateResponse:
    """A custom page inside the admin (review queue, breakers): the admin's chrome around `context`."""
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, template, {
        **model_admin.admin_site.each_context(request), "opts": model_admin.opts, "title": title, **context})


class ReadOnlyMixin:
    """Records written by the pipeline: editing them would falsify what happened."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    pass


@admin.register(BreakerEvent)
class BreakerEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "name", "from_badge", "to_badge", "short_error", "actor")
    list_filter = ("name", "to_state", "at")
    search_fields = ("name", "error", "actor")
    date_hierarchy = "at"

    @admin.display(description="from", ordering="from_state")
    def from_badge(self, obj):
        return badge(obj.from_state) if obj.from_state else "—"

    @admin.display(description="to", ordering="to_state")
    def to_badge(self, obj):
        return badge(obj.to_state)

    @admin.display(description="error")
    def short_error(self, obj):
        return (obj.error[:120] + "…") if len(obj.error) > 120 else obj.error


BREAKER_ACTIONS = {
    "close": ("force_close", "closed"),
    "open": ("force_open", "opened"),
    "reset": ("reset", "reset"),
}


@admin.register(Breaker)
class BreakerAdmin(admin.ModelAdmin):
    """A page over Redis state, not a table: only the changelist and the POST actions exist."""

    events_per_breaker = 10

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_manage_permission(self, request):
        return request.user.has_perm("phantoms.manage_breakers")

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("", self.admin_site.admin_view(self.changelist_view), name=f"{prefix}_changelist"),
            path("<str:name>/<str:action>/", self.admin_site.admin_view(self.action_view), name=f"{prefix}_action"),
        ]

    def _rows(self):
        rows = []
        for breaker in all_breakers():
            row = {"name": breaker.name, "status": None, "error": ""}
            try:
                row["status"] = breaker.status()
            except Exception as exc:  # an unreadable breaker must not take the whole page down
                logger.warning("breaker %s unreadable: %s", breaker.name, exc)
                row["error"] = str(exc)
            row["events"] = list(BreakerEvent.objects.filter(name=breaker.name)[: self.events_per_breaker])
            rows.append(row)
        return rows

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return admin_page(self, request, "admin/phantoms/breaker/breakers.html", "Circuit breakers",
                          breakers=self._rows(), can_manage=self.has_manage_permission(request),
                          **(extra_context or {}))

    def action_view(self, request, name, action):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_manage_permission(request):
            raise PermissionDenied
        if action not in BREAKER_ACTIONS or name not in {b.name for b in all_breakers()}:
            raise Http404
        method, done = BREAKER_ACTIONS[action]
        try:
            getattr(get_breaker(name), method)(actor=request.user.get_username())
        except Exception as exc:
            messages.error(request, f"Could not {action} the {name} breaker: {exc}")
        else:
            messages.success(request, f"The {name} breaker was {done}.")
        return HttpResponseRedirect(reverse("admin:phantoms_breaker_changelist", current_app=self.admin_site.name))
