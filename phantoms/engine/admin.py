"""The engine's records in the admin: dead letters (requeue, discard), attempts, transitions, breakers.

Records are read-only: they say what happened. The actions call the engine's services.
"""

import logging
from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from phantoms.admin import ReadOnlyAdmin, ReadOnlyMixin, TeamScopedMixin, admin_link, admin_page, badge

from .models import Breaker, BreakerEvent, DeadLetter, StageAttempt, TransitionLog
from .selectors import breaker_overview
from .services import breakers as breaker_service
from .services import dead_letters

logger = logging.getLogger("phantoms.admin")
REQUEUE_PERMISSION = "engine.requeue_deadletter"
TRACEBACK_PERMISSION = "engine.view_deadletter_traceback"
MANAGE_BREAKERS_PERMISSION = "engine.manage_breakers"
VIEW_BREAKERS_PERMISSION = "engine.view_breakers"


def stage_attempt_table(attempts) -> str:
    return render_to_string("admin/engine/includes/stage_attempts.html", {"attempts": attempts})


# --- inlines: the history of an asset, read-only and oldest first so the newest is at the bottom.
class HistoryInline(ReadOnlyMixin, admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request, obj=None):
        # Whoever may see the asset (the page this history sits on) may see how it got where it is.
        parent = self.parent_model._meta
        return any(request.user.has_perm(f"{parent.app_label}.{verb}_{parent.model_name}")
                   for verb in ("view", "change"))


class TransitionLogInline(HistoryInline):
    model = TransitionLog
    fk_name = "asset"
    verbose_name = "transition"
    verbose_name_plural = "transition log"
    fields = ("at", "from_state", "to_state", "publication", "actor", "reason")
    readonly_fields = fields
    ordering = ("at", "id")


class StageAttemptInline(HistoryInline):
    model = StageAttempt
    fk_name = "asset"
    verbose_name_plural = "stage attempts"
    fields = ("started_at", "stage", "number", "provider", "outcome", "duration_ms", "publication", "worker",
              "error")
    readonly_fields = fields
    ordering = ("started_at", "id")



@admin.register(TransitionLog)
class TransitionLogAdmin(TeamScopedMixin, ReadOnlyAdmin):
    list_display = ("at", "asset_link", "publication", "from_state", "to_state", "actor", "reason")
    list_filter = ("to_state", "from_state")
    search_fields = ("reason", "actor")
    list_select_related = ("asset", "publication__channel")
    date_hierarchy = "at"

    @admin.display(description="asset", ordering="asset")
    def asset_link(self, obj):
        return admin_link(obj.asset)


@admin.register(StageAttempt)
class StageAttemptAdmin(TeamScopedMixin, ReadOnlyAdmin):
    list_display = ("started_at", "asset_link", "stage", "number", "provider", "outcome", "duration_ms", "error")
    list_filter = ("stage", "outcome", "provider")
    search_fields = ("error", "job_id", "worker")
    list_select_related = ("asset",)
    date_hierarchy = "started_at"

    @admin.display(description="asset", ordering="asset")
    def asset_link(self, obj):
        return admin_link(obj.asset)


# --- dead letters
class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"
    WINDOWS = {"hour": timedelta(hours=1), "day": timedelta(hours=24), "week": timedelta(days=7)}

    def lookups(self, request, model_admin):
        return (("hour", "Last hour"), ("day", "Last 24 hours"), ("week", "Last 7 days"),
                ("older", "Older than 7 days"))

    def queryset(self, request, queryset):
        value = self.value()
        now = timezone.now()
        if value in self.WINDOWS:
            return queryset.filter(last_failed_at__gte=now - self.WINDOWS[value])
        if value == "older":
            return queryset.filter(last_failed_at__lt=now - self.WINDOWS["week"])
        return queryset


@admin.register(DeadLetter)
class DeadLetterAdmin(TeamScopedMixin, ReadOnlyAdmin):
    list_display = ("id", "asset_link", "stage", "queue", "platform", "error_class", "short_message", "attempts",
                    "first_failed_at", "last_failed_at", "status_badge", "requeued_by")
    list_filter = ("status", "stage", "queue", "platform", "error_class", AgeFilter)
    search_fields = ("error_message", "error_class", "job_id", "asset__title")
    list_select_related = ("asset",)
    actions = ("requeue_selected", "discard_selected")
    fieldsets = (
        (None, {"fields": ("asset_link", "publication_link", "stage", "queue", "platform", "job_id",
                           "status_badge", "requeued_at", "requeued_by")}),
        ("Failure", {"fields": ("error_class", "error_message", "traceback_pre", "attempts", "first_failed_at",
                                "last_failed_at")}),
        ("Stage attempts of this asset", {"fields": ("attempt_history",)}),
    )
    readonly_fields = ("asset_link", "publication_link", "stage", "queue", "platform", "job_id", "status_badge",
                       "requeued_at", "requeued_by", "error_class", "error_message", "traceback_pre", "attempts",
                       "first_failed_at", "last_failed_at", "attempt_history")

    def has_requeue_permission(self, request, obj=None):
        return request.user.has_perm(REQUEUE_PERMISSION)

    def get_fieldsets(self, request, obj=None):
        if request.user.has_perm(TRACEBACK_PERMISSION):
            return self.fieldsets
        # Server tracebacks are for operators only.
        return tuple((name, {**options, "fields": tuple(f for f in options["fields"] if f != "traceback_pre")})
                     for name, options in self.fieldsets)

    @admin.display(description="asset", ordering="asset")
    def asset_link(self, obj):
        return admin_link(obj.asset, f"#{obj.asset_id} {obj.asset}")

    @admin.display(description="publication")
    def publication_link(self, obj):
        return admin_link(obj.publication)

    @admin.display(description="message")
    def short_message(self, obj):
        message = obj.error_message.splitlines()[0] if obj.error_message else ""
        return (message[:100] + "…") if len(message) > 100 else message

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status)

    @admin.display(description="traceback")
    def traceback_pre(self, obj):
        return format_html('<pre class="ph-pre">{}</pre>', obj.traceback or "(none recorded)")

    @admin.display(description="attempts")
    def attempt_history(self, obj):
        return stage_attempt_table(obj.asset.stage_attempts.select_related("publication__channel")
                                   .order_by("started_at", "id"))

    def get_urls(self):
        return [
            path(f"<path:object_id>/{verb}/", self.admin_site.admin_view(self.letter_action_view),
                 {"verb": verb}, name=f"engine_deadletter_{verb}")
            for verb in ("requeue", "discard")
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        letter = self.get_object(request, unquote(object_id))
        extra_context["can_act"] = (letter is not None and letter.status == DeadLetter.Status.OPEN
                                    and self.has_requeue_permission(request))
        return super().change_view(request, object_id, form_url, extra_context)

    def letter_action_view(self, request, object_id, verb):
        if verb not in ("requeue", "discard"):
            raise Http404
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_requeue_permission(request):
            raise PermissionDenied
        letter = self.get_object(request, unquote(object_id))
        if letter is None:
            raise Http404
        if verb == "requeue":
            self._requeue(request, [letter.pk])
        else:
            self._discard(request, [letter.pk])
        return HttpResponseRedirect(reverse("admin:engine_deadletter_change", args=[letter.pk]))

    def _requeue(self, request, ids):
        for letter_id in ids:
            result = dead_letters.requeue(letter_id, user=request.user)
            if result.requeued:
                messages.success(request, f"Dead letter {letter_id} requeued: {result.detail}.")
            else:
                messages.warning(request, f"Dead letter {letter_id} not requeued: {result.detail}.")

    def _discard(self, request, ids):
        for letter_id in ids:
            if dead_letters.discard(letter_id, user=request.user):
                messages.success(request, f"Dead letter {letter_id} discarded.")
            else:
                status = DeadLetter.objects.filter(pk=letter_id).values_list("status", flat=True).first()
                messages.warning(request, f"Dead letter {letter_id} not discarded: already {status}.")

    @admin.action(description="Requeue selected dead letters", permissions=["requeue"])
    def requeue_selected(self, request, queryset):
        self._requeue(request, list(queryset.order_by("id").values_list("id", flat=True)))

    @admin.action(description="Discard selected dead letters", permissions=["requeue"])
    def discard_selected(self, request, queryset):
        self._discard(request, list(queryset.order_by("id").values_list("id", flat=True)))



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


@admin.register(Breaker)
class BreakerAdmin(admin.ModelAdmin):
    """A page over Redis state, not a table: only the changelist and the POST actions exist."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.has_perm(VIEW_BREAKERS_PERMISSION)

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.has_perm(VIEW_BREAKERS_PERMISSION)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_manage_permission(self, request):
        return request.user.has_perm(MANAGE_BREAKERS_PERMISSION)

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("", self.admin_site.admin_view(self.changelist_view), name=f"{prefix}_changelist"),
            path("<str:name>/<str:action>/", self.admin_site.admin_view(self.action_view), name=f"{prefix}_action"),
        ]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return admin_page(self, request, "admin/engine/breaker/breakers.html", "Circuit breakers",
                          breakers=breaker_overview(), can_manage=self.has_manage_permission(request),
                          **(extra_context or {}))

    def action_view(self, request, name, action):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_manage_permission(request):
            raise PermissionDenied
        try:
            done = breaker_service.force(name, action, actor=request.user.get_username(), user=request.user)
        except breaker_service.UnknownBreakerAction:
            raise Http404
        except Exception as exc:
            messages.error(request, f"Could not {action} the {name} breaker: {exc}")
        else:
            messages.success(request, f"The {name} breaker was {done}.")
        return HttpResponseRedirect(reverse("admin:engine_breaker_changelist", current_app=self.admin_site.name))
