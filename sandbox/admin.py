from django.contrib import admin

from phantoms.admin import ReadOnlyAdmin

from .models import SandboxPost, SandboxRender


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
