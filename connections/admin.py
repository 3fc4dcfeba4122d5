"""Connected accounts in the admin: "Connect YouTube / TikTok / Instagram / X", "Reconnect", "Disconnect".

Thin: every decision is in connections.services. Tokens are never shown, not even masked: the page
shows the account, the scopes granted and missing, when the token expires and the connection's state.
"""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST

from accounts import scoping
from accounts.models import Team
from connections import services
from connections.errors import ConnectError
from connections.models import Connection
from connections.providers import PROVIDERS
from phantoms.admin import admin_page, badge


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    change_list_template = "admin/connections/connection/change_list.html"
    list_display = ("channel", "platform", "account", "status_badge", "scopes_granted", "missing", "expires_at",
                    "refreshed_at", "buttons")
    list_filter = ("status", "channel__platform")
    search_fields = ("channel__name", "channel__account_id")
    fields = ("channel", "platform", "account", "status_badge", "scopes", "missing_scopes", "expires_at",
              "refresh_expires_at", "connected_at", "refreshed_at", "last_error")
    readonly_fields = fields

    def get_queryset(self, request):
        return scoping.visible(super().get_queryset(request).select_related("channel"), request.user)

    def has_add_permission(self, request):
        return False  # connecting is the "Connect" buttons: an account, never a pasted token

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # "Disconnect" revokes at the platform first

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("publishing.view_channel") or request.user.has_perm("connections.view_connection")

    @admin.display(description="platform", ordering="channel__platform")
    def platform(self, obj):
        return obj.channel.get_platform_display()

    @admin.display(description="account")
    def account(self, obj):
        return f"{obj.channel.name} ({obj.channel.account_id})"

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status, obj.get_status_display())

    @admin.display(description="scopes")
    def scopes_granted(self, obj):
        return ", ".join(scope.rsplit("/", 1)[-1] for scope in obj.scopes) or "—"

    @admin.display(description="missing scopes")
    def missing(self, obj):
        if not obj.missing_scopes:
            return "—"
        return format_html('<strong style="color:#ba2121">{}</strong>',
                           ", ".join(scope.rsplit("/", 1)[-1] for scope in obj.missing_scopes))

    @admin.display(description="")
    def buttons(self, obj):
        reconnect = reverse("admin:connections_connection_reconnect", args=[obj.pk])
        disconnect = reverse("admin:connections_connection_disconnect", args=[obj.pk])
        # Reconnect stands out when the platform refused a refresh or a permission is missing.
        style = "button default" if obj.status == Connection.Status.NEEDS_REAUTH or obj.missing_scopes else "button"
        return format_html('<a class="{}" href="{}">Reconnect</a> <a class="button" href="{}">Disconnect</a>',
                           style, reconnect, disconnect)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("connect/<str:platform>/", view(self.connect_view), name="connections_connection_connect"),
            path("callback/<str:platform>/", view(self.callback_view), name="connections_connection_callback"),
            path("<int:pk>/reconnect/", view(self.reconnect_view), name="connections_connection_reconnect"),
            path("<int:pk>/disconnect/", view(self.disconnect_view), name="connections_connection_disconnect"),
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        teams = list(scoping.visible(Team.objects.all(), request.user).order_by("name")) \
            if request.user.has_perm("publishing.add_channel") else []
        extra = {"connect_platforms": [(name, cls.label) for name, cls in PROVIDERS.items()],
                 "connect_teams": teams if len(teams) > 1 else [],
                 "may_connect": request.user.has_perm("publishing.add_channel")}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    # --- the flow
    def _redirect_uri(self, request, platform: str) -> str:
        route = reverse("admin:connections_connection_callback", args=[platform])
        base = settings.PHANTOMS_PUBLIC_URL
        return f"{base}{route}" if base else request.build_absolute_uri(route)

    def _changelist(self):
        return HttpResponseRedirect(reverse("admin:connections_connection_changelist"))

    def _start(self, request, platform, *, channel=None):
        if platform not in PROVIDERS:
            messages.error(request, f"platform: {platform!r} cannot be connected (one of {', '.join(PROVIDERS)})")
            return self._changelist()
        team = request.POST.get("team") or None
        try:
            url = services.start_authorization(platform, user=request.user, channel=channel,
                                               redirect_uri=self._redirect_uri(request, platform),
                                               team_id=int(team) if team and team.isdigit() else None)
        except ConnectError as exc:
            messages.error(request, f"Could not connect: {exc}")
            return self._changelist()
        return HttpResponseRedirect(url)

    def connect_view(self, request, platform):
        if not request.user.has_perm("publishing.add_channel"):
            raise PermissionDenied
        return require_POST(lambda r: self._start(r, platform))(request)

    @staticmethod
    def _scope_names(scopes):
        return ", ".join(scope.rsplit("/", 1)[-1] for scope in scopes)

    def callback_view(self, request, platform):
        if not request.user.has_perm("publishing.add_channel") and not request.user.has_perm(
                "publishing.change_channel"):
            raise PermissionDenied
        return require_GET(lambda r: self._callback(r, platform))(request)

    def _callback(self, request, platform):
        if platform not in PROVIDERS:
            messages.error(request, f"platform: {platform!r} cannot be connected")
            return self._changelist()
        try:
            result = services.complete_authorization(platform, user=request.user, params=request.GET)
        except ConnectError as exc:
            messages.error(request, f"Could not connect: {exc}")
            return self._changelist()
        channel = result.channel
        verb = "Connected" if result.created else "Reconnected"
        messages.success(request, f"{verb} {channel.get_platform_display()} account {channel.name} "
                                  f"({channel.account_id})."
                         + (f" {result.resumed} waiting publication(s) resumed." if result.resumed else ""))
        if result.missing_scopes:
            messages.warning(request, f"{channel.name} did not grant: {self._scope_names(result.missing_scopes)}. "
                                      "Publishing needs them: click Reconnect and leave every permission ticked.")
        return self._changelist()

    def reconnect_view(self, request, pk):
        if not request.user.has_perm("publishing.change_channel"):
            raise PermissionDenied
        connection = get_object_or_404(self.get_queryset(request), pk=pk)
        if request.method == "POST":
            return self._start(request, connection.channel.platform, channel=connection.channel)
        return admin_page(self, request, "admin/connections/connection/confirm.html",
                          f"Reconnect {connection.channel}", connection=connection, action="Reconnect",
                          explanation=f"You will sign in to {connection.channel.get_platform_display()} as "
                                      f"{connection.channel.name} and grant Phantoms its permissions again.")

    def disconnect_view(self, request, pk):
        if not request.user.has_perm("publishing.delete_channel"):
            raise PermissionDenied
        connection = get_object_or_404(self.get_queryset(request), pk=pk)
        if request.method == "POST":
            try:
                messages.success(request, services.disconnect(connection.pk, user=request.user))
            except ConnectError as exc:
                messages.error(request, f"Could not disconnect: {exc}")
            return self._changelist()
        return admin_page(self, request, "admin/connections/connection/confirm.html",
                          f"Disconnect {connection.channel}", connection=connection, action="Disconnect",
                          explanation="The token is revoked at the platform (where it offers revocation) and "
                                      "deleted here. A channel with publications is kept, inactive; one without "
                                      "is deleted.")
