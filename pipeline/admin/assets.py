"""The asset list and page: brief in, history out, the script and the video beside each other."""

from django.contrib import admin, messages

from phantoms.admin import RelatedInTeamFilter, TeamScopedMixin, badge, external_link
from phantoms.engine.admin import HistoryInline, StageAttemptInline, TransitionLogInline
from pipeline.admin.editing import EditingMixin
from pipeline.admin.forms import BriefForm
from pipeline.admin.progress import ProgressMixin, progress_cell
from pipeline.admin.review import ReviewActionsMixin, render_preview
from pipeline.admin.schedule import ScheduleMixin
from pipeline.models import Asset
from pipeline.selectors import editable_fields, may_delete
from pipeline.services.briefs import BriefError, submit_brief
from pipeline.services.edits import EditError, edit_asset
from publishing.models import Publication
from publishing.selectors import channels_for


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


@admin.register(Asset)
class AssetAdmin(TeamScopedMixin, EditingMixin, ProgressMixin, ScheduleMixin, ReviewActionsMixin, admin.ModelAdmin):
    list_display = ("id", "state_badge", "title_or_brief", "channel_list", "failed_stage", "attempts",
                    "progress", "created_at")
    list_display_links = ("id", "title_or_brief")
    list_filter = ("state", "failed_stage", ("channels", RelatedInTeamFilter), ("team", RelatedInTeamFilter))
    search_fields = ("brief", "title")
    date_hierarchy = "created_at"
    list_per_page = 50
    inlines = (PublicationInline, TransitionLogInline, StageAttemptInline)
    add_form = BriefForm
    readonly_fields = ("state", "state_badge", "preview", "progress")
    change_fieldsets = (
        (None, {"fields": ("title", "team", "channels", "state_badge", "failed_stage", "preview")}),
        ("Brief", {"fields": ("brief", "target_duration_seconds", "providers", "created_by", "created_at")}),
        ("Review", {"fields": ("review_notes", "reviewed_by", "reviewed_at")}),
        ("Progress", {"fields": ("attempts", "last_error", "progress", "job_id", "next_run_at", "lease_owner",
                                 "lease_expires_at", "updated_at")}),
        ("Providers and media", {"classes": ("collapse",), "fields": (
            "script_provider", "script_model", "prompt_template", "usage", "voice_provider", "audio",
            "audio_duration", "render_provider", "render_remote_id", "video", "video_duration",
            "video_sha256", "render_spec", "word_timings")}),
    )

    # --- list
    # Large columns no list column shows: a changelist of 50 rows should not read 50 render specs.
    LIST_DEFERRED = ("render_spec", "word_timings", "script", "usage", "visuals", "providers")

    def get_queryset(self, request):
        assets = super().get_queryset(request).prefetch_related("channels")
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == f"{self.opts.app_label}_{self.opts.model_name}_changelist":
            assets = assets.defer(*self.LIST_DEFERRED)
        return assets

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

    @admin.display(description="progress", ordering="render_progress")
    def progress(self, obj):
        return progress_cell(obj)  # live: the list polls it (pipeline.admin.progress)

    @admin.display(description="script and media")
    def preview(self, obj):
        return render_preview(obj)

    # --- forms
    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        form = super().get_form(request, obj, **kwargs)
        if obj is None:
            class BriefFormForUser(form):
                """The brief form offers only the user's teams and channels."""

                def __init__(self, *args, **form_kwargs):
                    super().__init__(*args, user=request.user, **form_kwargs)

            return BriefFormForUser
        return form

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "channels":
            kwargs["queryset"] = channels_for(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((None, {"fields": BriefForm.Meta.fields}),)
        return self.change_fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        fields = [f for fieldset in self.change_fieldsets for f in fieldset[1]["fields"]]
        editable = editable_fields(obj)
        return tuple(dict.fromkeys([*self.readonly_fields, *(f for f in fields if f not in editable)]))

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if not change:
            data = form.cleaned_data
            asset, _ = submit_brief(brief=data["brief"], title=data.get("title") or "", team=data["team"],
                                    channels=data.get("channels") or (),
                                    target_duration_seconds=data["target_duration_seconds"],
                                    providers=data.get("providers") or {}, user=request.user)
            # The admin goes on to log and redirect to `obj`: make it the asset the service created.
            obj.pk = asset.pk
            obj._state.adding = False
            obj._state.db = asset._state.db
            obj.refresh_from_db()
            return
        # Saved in save_related, with the channels, through the edit service.

    def save_related(self, request, form, formsets, change):
        for formset in formsets:  # the history inlines are read-only; saving them records "nothing added"
            self.save_formset(request, form, formset, change=change)
        if not change:  # on add, submit_brief has set the channels already
            return
        # Only what the editor changed: a full save would overwrite what a worker wrote meanwhile.
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
        try:
            edit_asset(form.instance.pk, changes=changes, user=request.user)
        except (EditError, BriefError) as exc:
            messages.error(request, f"Not saved: {exc}")

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not may_delete(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def add_view(self, request, form_url="", extra_context=None):
        extra_context = {"title": "Submit a brief", **(extra_context or {})}
        return super().add_view(request, form_url, extra_context)
