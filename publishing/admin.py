"""Connected accounts (editable) and publications (read-only: the pipeline writes them)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from accounts import scoping
from accounts.models import Team
from phantoms.admin import (
    ReadOnlyAdmin,
    RelatedInTeamFilter,
    TeamScopedMixin,
    admin_link,
    admin_page,
    badge,
    external_link,
)
from publishing import slots
from publishing.calendar_admin import CalendarMixin
from publishing.models import Channel, Publication
from publishing.services import (
    ChannelError,
    ResolveError,
    RetryError,
    confirm_published,
    disconnect_channel,
    publish_again,
    retry_or_requeue,
    save_channel,
)

RESOLVE_PERMISSION = "publishing.resolve_publication"


class ChannelForm(forms.ModelForm):
    # No token field: tokens come only from "Connect" (Connected accounts) and are never shown.
    class Meta:
        model = Channel
        fields = ("team", "platform", "name", "account_id", "is_active", "posting_slots", "timezone")

    def clean_posting_slots(self):
        try:
            slots.parse(self.cleaned_data.get("posting_slots") or "")
        except slots.SlotError as exc:
            raise forms.ValidationError(exc.problem)
        return self.cleaned_data.get("posting_slots") or ""

    def clean_timezone(self):
        try:
            slots.zone(self.cleaned_data.get("timezone") or "")
        except slots.SlotError as exc:
            raise forms.ValidationError(exc.problem)
        return self.cleaned_data.get("timezone") or "UTC"


@admin.register(Channel)
class ChannelAdmin(TeamScopedMixin, admin.ModelAdmin):
    form = ChannelForm
    list_display = ("name", "platform", "team", "account_id", "connection_status", "is_active", "created_at")
    list_filter = ("platform", "is_active", ("team", RelatedInTeamFilter))
    search_fields = ("name", "account_id")
    fields = ("team", "platform", "name", "account_id", "is_active", "posting_slots", "timezone")

    @admin.display(description="connection")
    def connection_status(self, obj):
        # The reverse side of connections.Connection (connected / needs_reauth), or not connected.
        try:
            return obj.connection.get_status_display()
        except ObjectDoesNotExist:
            return "not connected"

    def get_readonly_fields(self, request, obj=None):
        # A channel stays in the team it was connected for: its publications belong to that team.
        return ("team",) if obj is not None else ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "team":
            kwargs["queryset"] = scoping.visible(Team.objects.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        concrete = {f.name for f in obj._meta.concrete_fields}
        changed = [name for name in form.changed_data if name in concrete]
        try:
            save_channel(obj, changed=changed, user=request.user)
        except ChannelError as exc:
            raise PermissionDenied(str(exc))

    def delete_model(self, request, obj):
        disconnect_channel(obj.pk, user=request.user)

    def delete_queryset(self, request, queryset):
        for channel_id in queryset.values_list("pk", flat=True):
            disconnect_channel(channel_id, user=request.user)


@admin.register(Publication)
class PublicationAdmin(TeamScopedMixin, CalendarMixin, ReadOnlyAdmin):
    list_display = ("id", "asset_link", "channel", "platform", "state_badge", "remote_id", "remote_link",
                    "attempts", "scheduled_at", "published_at", "updated_at")
    list_filter = ("state", "channel__platform", ("channel", RelatedInTeamFilter))
    search_fields = ("remote_id", "asset__title", "channel__name")
    list_select_related = ("asset", "channel")
    actions = ("retry_selected",)
    fields = ("asset_link", "channel", "state_badge", "decide", "remote_id", "remote_link", "idempotency_key",
              "failed_stage", "attempts", "last_error", "platform_handles", "platform_evidence", "job_id",
              "next_run_at", "scheduled_at", "published_at", "created_at", "updated_at")
    readonly_fields = fields

    def get_urls(self):
        return [
            path("<int:publication_id>/decide/", self.admin_site.admin_view(self.decide_view),
                 name="publishing_publication_decide"),
        ] + super().get_urls()

    @admin.display(description="a person decides")
    def decide(self, obj):
        if obj.state != Publication.State.NEEDS_ATTENTION:
            return "—"
        return format_html('<a class="button" href="{}">It is published, here is the URL / Publish again</a>',
                           reverse("admin:publishing_publication_decide", args=[obj.pk]))

    @admin.display(description="platform handles")
    def platform_handles(self, obj):
        if not obj.handles:
            return "—"
        return format_html_join(mark_safe("<br>"), "<code>{}</code>: {}", sorted(obj.handles.items()))

    @admin.display(description="what the platform said")
    def platform_evidence(self, obj):
        if not obj.evidence:
            return "—"
        return format_html_join(mark_safe("<br>"), "{} → <strong>{}</strong>",
                                ((item.get("asked", ""), item.get("answer", "")) for item in obj.evidence))

    def decide_view(self, request, publication_id: int):
        """The two buttons for a needs_attention publication, with the evidence to decide by."""
        publication = self.get_object(request, str(publication_id))
        if publication is None or not self.has_view_permission(request, publication):
            raise PermissionDenied
        change_url = reverse("admin:publishing_publication_change", args=[publication.pk])
        error = ""
        if request.method == "POST":
            if not request.user.has_perm(RESOLVE_PERMISSION):
                raise PermissionDenied
            try:
                if "confirm" in request.POST:
                    confirm_published(publication.pk, request.POST.get("url", ""), user=request.user)
                    messages.success(request, f"Publication {publication.pk} is published at {request.POST['url']}.")
                else:
                    detail = publish_again(publication.pk, user=request.user)
                    messages.success(request, f"Publication {publication.pk}: {detail}.")
                return HttpResponseRedirect(change_url)
            except (ResolveError, RetryError, Publication.DoesNotExist) as exc:
                error = str(exc)
        return admin_page(self, request, "admin/publishing/publication/decide.html",
                          f"Decide publication {publication.pk}", publication=publication, error=error,
                          evidence=publication.evidence, handles=sorted(publication.handles.items()),
                          change_url=change_url, url=request.POST.get("url", ""))

    def has_retry_permission(self, request, obj=None):
        return request.user.has_perm(RESOLVE_PERMISSION)

    @admin.display(description="asset", ordering="asset")
    def asset_link(self, obj):
        return admin_link(obj.asset, f"#{obj.asset_id} {obj.asset}")

    @admin.display(description="platform", ordering="channel__platform")
    def platform(self, obj):
        return obj.channel.get_platform_display()

    @admin.display(description="state", ordering="state")
    def state_badge(self, obj):
        return badge(obj.state)

    @admin.display(description="remote url")
    def remote_link(self, obj):
        return external_link(obj.remote_url)

    @admin.action(description="Retry selected failed / needs-attention publications", permissions=["retry"])
    def retry_selected(self, request, queryset):
        for publication in queryset.order_by("id"):
            if publication.state not in Publication.RETRYABLE:
                messages.warning(request, f"Publication {publication.pk} is {publication.state}; not retried.")
                continue
            try:
                detail = retry_or_requeue(publication.pk, user=request.user)
            except (RetryError, Publication.DoesNotExist) as exc:
                messages.error(request, f"Publication {publication.pk} not retried: {exc}")
            else:
                messages.success(request, f"Publication {publication.pk}: {detail}.")
