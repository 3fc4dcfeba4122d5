from django.contrib import admin

from .models import SandboxPost, SandboxRender


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger records what the fake services saw; editing it would falsify the evidence."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SandboxPost)
class SandboxPostAdmin(ReadOnlyAdmin):
    list_display = (
        "accepted_at", "platform", "remote_id", "client_ref", "asset_ref", "status", "response_lost",
    )
    list_filter = ("platform", "status", "response_lost")
    search_fields = ("remote_id", "client_ref", "asset_ref", "title")
    date_hierarchy = "accepted_at"


@admin.register(SandboxRender)
class SandboxRenderAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "render_id", "status", "duration_seconds", "callback_status")
    list_filter = ("status",)
    search_fields = ("render_id",)
