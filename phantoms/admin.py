"""What every Phantoms admin page shares: state badges, links, read-only admins, custom pages.

The admin classes themselves live with the app that owns each model (`<app>/admin.py`).
"""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from accounts import scoping

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
    "scheduled": "#0e7490",
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


class TeamScopedMixin:
    """Only the rows of the user's teams (accounts.scoping): another team's rows are absent, so their
    pages answer as for an object that does not exist."""

    def get_queryset(self, request):
        return scoping.visible(super().get_queryset(request), request.user)


class RelatedInTeamFilter(admin.RelatedOnlyFieldListFilter):
    """A related-object filter offering only objects that rows the user can see point at."""


def admin_link(obj, label=None):
    """A link to `obj`'s change page in the admin, or a dash."""
    if obj is None:
        return "—"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or str(obj))
