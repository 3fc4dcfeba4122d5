"""What was announced, to whom, and whether the chat webhook took it (pipeline.services.notify)."""

from django.contrib import admin
from django.utils.html import format_html

from phantoms.admin import ReadOnlyAdmin, TeamScopedMixin
from pipeline.models import Notice


@admin.register(Notice)
class NoticeAdmin(TeamScopedMixin, ReadOnlyAdmin):
    list_display = ("created_at", "kind", "summary_link", "sent_at", "recipients", "webhook")
    list_filter = ("kind", ("sent_at", admin.EmptyFieldListFilter))
    search_fields = ("summary",)
    fields = ("kind", "key", "team", "summary", "link", "created_at", "sent_at", "delivery")

    @admin.display(description="summary")
    def summary_link(self, obj):
        return format_html('<a href="{}">{}</a>', obj.link, obj.summary)

    @admin.display(description="emailed")
    def recipients(self, obj):
        return ", ".join((obj.delivery or {}).get("emailed") or []) or "—"

    @admin.display(description="webhook")
    def webhook(self, obj):
        return (obj.delivery or {}).get("webhook") or "—"
