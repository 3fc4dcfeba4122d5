"""The editors' home: assets, the review queue, prompt templates and dead letters.

Every state change goes through the services (pipeline.services.*); this module only decides who may
ask for one and reports what happened.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Max
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django_fsm import can_proceed, has_transition_perm

from phantoms.admin import ReadOnlyAdmin, ReadOnlyMixin, admin_page, badge, external_link
from pipeline.models import Asset, DeadLetter, PromptTemplate, StageAttempt, TransitionLog
from pipeline.services import dead_letters
from pipeline.services.briefs import BriefError, submit_brief, validate_providers
from pipeline.services.review import ReviewError, approve_asset, cancel_asset, reject_asset
from publishing.models import Publication

REVIEW_PERMISSION = "pipeline.review_asset"
REQUEUE_PERMISSION = "pipeline.requeue_deadletter"

# Before approval an editor may still retarget or retitle an asset; afterwards the publications exist.
EDITABLE_STATES = {Asset.State.DRAFT, Asset.State.SCRIPTING, Asset.State.VOICING, Asset.State.RENDERING,
                   Asset.State.AWAITING_REVIEW}
EDITABLE_FIELDS = ("title", "channels")
# Deleting an asset a worker may be holding would leave its jobs pointing at nothing: cancel instead.
DELETABLE_STATES = {Asset.State.DRAFT, Asset.State.PUBLISHED, Asset.State.PARTIALLY_PUBLISHED,
                    Asset.State.REJECTED, Asset.State.CANCELLED}


def admin_link(obj, label=None):
    if obj is None:
        return "—"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or str(obj))


def render_preview(asset) -> str:
    """Script beside the players: the same block on the change page and in the review queue."""
    return render_to_string("admin/pipeline/asset/includes/preview.html", {"asset": asset,
                                                                           "script": asset.script or {}})


def stage_attempt_table(attempts) -> str:
    return render_to_string("admin/pipeline/includes/stage_attempts.html", {"attempts": attempts})


# --- inlines: the history of an asset, read-only and oldest first so the newest is at the bottom.
class HistoryInline(ReadOnlyMixin, admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request, obj=None):
        # Whoever may see the asset may see how it got where it is.
        return request.user.has_perm("pipeline.view_asset") or request.user.has_perm("pipeline.change_asset")


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


class PublicationInline(HistoryInline):
    model = Publication
    verbose_name_plural = "publications"
    fields = ("channel", "state_badge", "remote_id", "remote_link", "attempts", "published_at", "updated_at")
    readonly_fields = fields
    ordering = ("channel_id",)

    @admin.display(description="state")
    def state_badge(self, obj):
        return badge(obj.state)

    @admin.display(description="remote url")
    def remote_link(self, obj):
        return external_link(obj.remote_url)


# --- the brief form: a new asset is created by the brief service so it starts scripting at once.
class BriefForm(forms.ModelForm):
    target_duration_seconds = forms.IntegerField(min_value=5, max_value=180, initial=20,
                                                 help_text="Between 5 and 180 seconds.")

    class Meta:
        model = Asset
        fields = ("brief", "title", "channels", "target_duration_seconds", "providers")

    def clean_providers(self):
        providers = self.cleaned_data.get("providers") or {}
        try:
            return validate_providers(providers)
        except BriefError as exc:
            raise forms.ValidationError(exc.problem)


class ReviewNotesForm(forms.Form):
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 60}), required=False)


# Transition buttons: (transition method, button label, needs notes, permission kind).
TRANSITIONS = {
    "approve": ("approve", "Approve", False, "review"),
    "reject": ("reject", "Reject", False, "review"),
    "send_back": ("send_back", "Send back to scripting", True, "review"),
    "cancel": ("cancel", "Cancel", False, "change"),
}


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ("id", "state_badge", "title_or_brief", "channel_list", "failed_stage", "attempts",
                    "progress", "created_at")
    list_display_links = ("id", "title_or_brief")
    list_filter = ("state", "failed_stage", "channels")
    search_fields = ("brief", "title")
    date_hierarchy = "created_at"
    list_per_page = 50
    actions = ("approve_selected", "reject_selected", "send_back_selected", "cancel_selected")
    inlines = (PublicationInline, TransitionLogInline, StageAttemptInline)
    add_form = BriefForm
    readonly_fields = ("state", "state_badge", "preview", "progress")
    change_fieldsets = (
        (None, {"fields": ("title", "channels", "state_badge", "failed_stage", "preview")}),
        ("Brief", {"fields": ("brief", "target_duration_seconds", "providers", "created_by", "created_at",
                              "idempotency_key")}),
        ("Review", {"fields": ("review_notes", "reviewed_by", "reviewed_at")}),
        ("Progress", {"fields": ("attempts", "last_error", "progress", "job_id", "next_run_at", "lease_owner",
                                 "lease_expires_at", "updated_at")}),
        ("Providers and media", {"classes": ("collapse",), "fields": (
            "script_provider", "script_model", "prompt_template", "usage", "voice_provider", "audio",
            "audio_duration", "render_provider", "render_remote_id", "video", "video_duration",
            "video_sha256", "render_spec", "word_timings")}),
    )

    # --- list
    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("channels")

    @admin.display(description="state", ordering="state")
    def state_badge(self, obj):
        return badge(obj.state)

    @admin.display(description="title", ordering="title")
    def title_or_brief(self, obj):
        if obj.title:
            return obj.title
        return (obj.brief[:60] + "…") if len(obj.brief) > 60 else obj.brief

    @admin.display(description="channels")
    def channel_list(self, obj):
        return ", ".join(str(channel) for channel in obj.channels.all()) or "—"

    @admin.display(description="render", ordering="render_progress")
    def progress(self, obj):
        if obj.state == Asset.State.RENDERING:
            return f"{obj.render_progress * 100:.0f}%"
        return "—"

    @admin.display(description="script and media")
    def preview(self, obj):
        return render_preview(obj)

    # --- forms
    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((None, {"fields": BriefForm.Meta.fields}),)
        return self.change_fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        fields = [f for fieldset in self.change_fieldsets for f in fieldset[1]["fields"]]
        editable = EDITABLE_FIELDS if obj.state in EDITABLE_STATES else ()
        return tuple(dict.fromkeys([*self.readonly_fields, *(f for f in fields if f not in editable)]))

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if not change:
            data = form.cleaned_data
            asset, _ = submit_brief(brief=data["brief"], title=data.get("title") or "",
                                    channels=data.get("channels") or (),
                                    target_duration_seconds=data["target_duration_seconds"],
                                    providers=data.get("providers") or {}, user=request.user)
            # The admin goes on to log and redirect to `obj`: make it the asset the service created.
            obj.pk = asset.pk
            obj._state.adding = False
            obj._state.db = asset._state.db
            obj.refresh_from_db()
            return
        # Save only what the editor changed: a full save would overwrite what a worker wrote meanwhile.
        concrete = {f.name for f in obj._meta.concrete_fields}
        changed = [name for name in form.changed_data if name in concrete]
        if changed:
            obj.save(update_fields=changed)

    def save_related(self, request, form, formsets, change):
        if change:  # on add, submit_brief has set the channels already
            super().save_related(request, form, formsets, change)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.state not in DELETABLE_STATES:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    # --- permissions
    def has_review_permission(self, request, obj=None):
        return request.user.has_perm(REVIEW_PERMISSION)

    def _may(self, request, name, asset) -> bool:
        method_name, _, _, kind = TRANSITIONS[name]
        method = getattr(asset, method_name)
        if not can_proceed(method) or not has_transition_perm(method, request.user):
            return False
        if kind == "review":
            return self.has_review_permission(request, asset)
        return self.has_change_permission(request, asset)

    def available_transitions(self, request, asset):
        return [
            {"name": name, "label": label, "needs_notes": needs_notes,
             "url": reverse("admin:pipeline_asset_transition", args=[asset.pk, name])}
            for name, (_, label, needs_notes, _) in TRANSITIONS.items()
            if self._may(request, name, asset)
        ]

    # --- views
    def get_urls(self):
        urls = [
            path("review/", self.admin_site.admin_view(self.review_queue_view), name="pipeline_asset_review"),
            path("<path:object_id>/transition/<str:name>/", self.admin_site.admin_view(self.transition_view),
                 name="pipeline_asset_transition"),
        ]
        return urls + super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        extra_context = {"title": "Submit a brief", **(extra_context or {})}
        return super().add_view(request, form_url, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        asset = self.get_object(request, unquote(object_id))
        if asset is not None:
            extra_context["transitions"] = self.available_transitions(request, asset)
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        extra_context["awaiting_review"] = Asset.objects.filter(state=Asset.State.AWAITING_REVIEW).count()
        return super().changelist_view(request, extra_context)

    def review_queue_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        queryset = (Asset.objects.filter(state=Asset.State.AWAITING_REVIEW)
                    .prefetch_related("channels").order_by("updated_at", "id"))
        page = Paginator(queryset, 10).get_page(request.GET.get("page"))
        here = request.get_full_path()
        items = [
            {"asset": asset, "preview": render_preview(asset), "id_suffix": f"-{asset.pk}",
             "transitions": [t for t in self.available_transitions(request, asset) if t["name"] != "cancel"]}
            for asset in page.object_list
        ]
        return admin_page(self, request, "admin/pipeline/asset/review_queue.html", "Review queue",
                          page=page, items=items, next=here, can_review=self.has_review_permission(request))

    def transition_view(self, request, object_id, name):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if name not in TRANSITIONS:
            raise Http404
        asset = self.get_object(request, unquote(object_id))
        if asset is None:
            raise Http404
        _, label, needs_notes, kind = TRANSITIONS[name]
        allowed = self.has_review_permission(request) if kind == "review" else self.has_change_permission(
            request, asset)
        if not allowed:
            raise PermissionDenied
        notes = request.POST.get("notes", "").strip()
        self._apply_one(request, asset.pk, name, notes)
        next_url = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
            next_url = reverse("admin:pipeline_asset_change", args=[asset.pk])
        return HttpResponseRedirect(next_url)

    def _apply_one(self, request, asset_id, name, notes="") -> bool:
        try:
            if name == "approve":
                asset = approve_asset(asset_id, user=request.user, notes=notes)
            elif name == "reject":
                asset = reject_asset(asset_id, user=request.user, notes=notes)
            elif name == "send_back":
                asset = reject_asset(asset_id, user=request.user, notes=notes, rewrite=True)
            else:
                asset = cancel_asset(asset_id, user=request.user, reason=notes)
        except ReviewError as exc:
            messages.error(request, f"Asset {asset_id} not changed: {exc}")
            return False
        except Asset.DoesNotExist:
            messages.error(request, f"Asset {asset_id} no longer exists")
            return False
        messages.success(request, f"Asset {asset_id} ({asset}) is now {asset.get_state_display().lower()}.")
        return True

    # --- bulk actions
    def _apply_all(self, request, queryset, name, notes=""):
        done = 0
        for asset_id in queryset.order_by("id").values_list("id", flat=True):
            done += self._apply_one(request, asset_id, name, notes)
        if done == 0:
            messages.warning(request, f"No asset was changed ({TRANSITIONS[name][1].lower()}).")

    def _with_notes(self, request, queryset, name, *, required):
        """Ask for notes on an intermediate page, then apply once the editor confirms."""
        form = ReviewNotesForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            notes = form.cleaned_data["notes"].strip()
            if required and not notes:
                form.add_error("notes", "Say what the rewrite should change.")
            else:
                self._apply_all(request, queryset, name, notes)
                return None
        return admin_page(
            self, request, "admin/pipeline/asset/review_notes.html", f"{TRANSITIONS[name][1]}: selected assets",
            assets=queryset.order_by("id"), form=form, action=request.POST.get("action"),
            action_label=TRANSITIONS[name][1], notes_required=required,
            action_checkbox_name=admin.helpers.ACTION_CHECKBOX_NAME,
            select_across=request.POST.get("select_across", "0"),
        )

    @admin.action(description="Approve selected assets", permissions=["review"])
    def approve_selected(self, request, queryset):
        self._apply_all(request, queryset, "approve")

    @admin.action(description="Reject selected assets", permissions=["review"])
    def reject_selected(self, request, queryset):
        return self._with_notes(request, queryset, "reject", required=False)

    @admin.action(description="Send selected assets back to scripting", permissions=["review"])
    def send_back_selected(self, request, queryset):
        return self._with_notes(request, queryset, "send_back", required=True)

    @admin.action(description="Cancel selected assets", permissions=["change"])
    def cancel_selected(self, request, queryset):
        self._apply_all(request, queryset, "cancel")


@admin.register(PromptTemplate)
class PromptTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "model", "temperature", "is_active", "created_at")
    list_filter = ("is_active", "name")
    search_fields = ("name", "system_prompt", "style_guide")
    readonly_fields = ("version", "created_at")

    def save_model(self, request, obj, form, change):
        # Assets record the version they were written with; editing it in place would rewrite that history.
        if change:
            obj.pk = None
            obj._state.adding = True
        latest = PromptTemplate.objects.filter(name=obj.name).aggregate(Max("version"))["version__max"]
        obj.version = (latest or 0) + 1
        obj.save()


@admin.register(TransitionLog)
class TransitionLogAdmin(ReadOnlyAdmin):
    list_display = ("at", "asset_link", "publication", "from_state", "to_state", "actor", "reason")
    list_filter = ("to_state", "from_state")
    search_fields = ("reason", "actor")
    list_select_related = ("asset", "publication__channel")
    date_hierarchy = "at"

    @admin.display(description="asset", ordering="asset")
    def asset_link(self, obj):
        return admin_link(obj.asset)


@admin.register(StageAttempt)
class StageAttemptAdmin(ReadOnlyAdmin):
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
class DeadLetterAdmin(ReadOnlyAdmin):
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
                 {"verb": verb}, name=f"pipeline_deadletter_{verb}")
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
        return HttpResponseRedirect(reverse("admin:pipeline_deadletter_change", args=[letter.pk]))

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

