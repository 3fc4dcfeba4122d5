"""Teams (superusers), integration tokens (operators: issue, see last use, revoke) and the audit trail."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from rest_framework_api_key.models import APIKey

from accounts import scoping
from accounts.models import AuditEvent, IntegrationToken, Team
from accounts.services.tokens import TokenError, check_grant, issue_token, revoke_token
from phantoms.admin import ReadOnlyAdmin, RelatedInTeamFilter, TeamScopedMixin


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "member_count", "created_at")
    search_fields = ("name",)
    filter_horizontal = ("members",)

    def get_queryset(self, request):
        return scoping.visible(super().get_queryset(request), request.user)

    @admin.display(description="members")
    def member_count(self, obj):
        return obj.members.count()


class TokenForm(forms.ModelForm):
    issuer = None  # set per request by the admin

    class Meta:
        model = IntegrationToken
        fields = ("name", "team", "role", "can_approve", "expiry_date")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("team") and cleaned.get("role") and not self.errors:
            try:
                check_grant(self.issuer, cleaned["team"], cleaned["role"], cleaned.get("can_approve", False))
            except TokenError as exc:
                self.add_error(exc.field if exc.field in self.fields else None, exc.problem)
        return cleaned


@admin.register(IntegrationToken)
class IntegrationTokenAdmin(TeamScopedMixin, admin.ModelAdmin):
    form = TokenForm
    list_display = ("name", "prefix", "team", "role", "can_approve", "created", "last_used_at", "expiry_date",
                    "revoked", "revoked_at")
    list_filter = ("revoked", "role", ("team", RelatedInTeamFilter))
    search_fields = ("name", "prefix")
    actions = ("revoke_selected",)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"issuer": request.user})

    def get_fields(self, request, obj=None):
        if obj is None:
            return TokenForm.Meta.fields
        return ("name", "prefix", "team", "role", "can_approve", "created", "created_by", "last_used_at",
                "expiry_date", "revoked", "revoked_at")

    def get_readonly_fields(self, request, obj=None):
        # Only a new token's settings are chosen; afterwards it can only be revoked.
        return self.get_fields(request, obj) if obj is not None else ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "team":
            kwargs["queryset"] = scoping.visible(Team.objects.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the record of who used the API stays

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = form.cleaned_data
        try:
            token, key = issue_token(name=data["name"], team=data["team"], role=data["role"],
                                     can_approve=data["can_approve"], expires_at=data.get("expiry_date"),
                                     issuer=request.user)
        except TokenError as exc:  # the form checked the grant already; this is the service's own guard
            raise PermissionDenied(str(exc))
        obj.pk, obj.prefix = token.pk, token.prefix
        obj._state.adding = False
        messages.warning(request, f"The key of {token.name!r} is {key} — copy it now: it is stored only as a hash "
                                  "and will not be shown again.")

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_selected(self, request, queryset):
        for token in queryset:
            if revoke_token(token.pk, by=request.user):
                messages.success(request, f"Token {token.name!r} revoked.")
            else:
                messages.info(request, f"Token {token.name!r} was already revoked.")


@admin.register(AuditEvent)
class AuditEventAdmin(TeamScopedMixin, ReadOnlyAdmin):
    list_display = ("at", "actor_name", "action", "team", "target_type", "target_id", "summary")
    list_filter = ("action", "target_type", ("team", RelatedInTeamFilter))
    search_fields = ("actor_name", "summary", "target_id")
    date_hierarchy = "at"


# The library's own key model is unused (IntegrationToken is ours): keep it out of the admin.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)
