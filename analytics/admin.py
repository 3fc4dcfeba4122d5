from django.contrib import admin

from analytics.models import MetricReadback
from phantoms.admin import ReadOnlyAdmin, TeamScopedMixin, admin_link, badge


@admin.register(MetricReadback)
class MetricReadbackAdmin(TeamScopedMixin, ReadOnlyAdmin):
    list_display = ("id", "publication_link", "platform", "offset_seconds", "due_at", "state_badge", "taken_at",
                    "views", "likes", "comments", "shares")
    list_filter = ("state", "publication__channel__platform", "offset_seconds")
    search_fields = ("publication__remote_id", "publication__asset__title")
    list_select_related = ("publication__channel", "publication__asset")
    date_hierarchy = "due_at"

    @admin.display(description="publication", ordering="publication")
    def publication_link(self, obj):
        return admin_link(obj.publication)

    @admin.display(description="platform", ordering="publication__channel__platform")
    def platform(self, obj):
        return obj.publication.channel.get_platform_display()

    @admin.display(description="state", ordering="state")
    def state_badge(self, obj):
        return badge(obj.state)
