"""Editing an asset before approval: its script (with versions and a diff) and its copy per platform.

The pages only collect what the editor typed; pipeline.services.script_edits decides what re-runs and
pipeline.services.platform_copy what is stored.
"""

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse

from phantoms.admin import admin_page
from pipeline.admin.forms import BeatFormSet, PlatformCopyForm, ScriptForm
from pipeline.models import Asset
from pipeline.selectors import EDITABLE_STATES, script_diff, script_versions
from pipeline.services.edits import EditError
from pipeline.services.platform_copy import parse_hashtags, save_platform_copy
from pipeline.services.script_edits import revise_script
from publishing.platform_limits import LIMITS, compose, limits_for
from publishing.selectors import platform_copy

RERUN_TEXT = {"voice": "a new voice, then visuals and the render", "visuals": "new visuals, then the render",
              "render": "the render"}


class EditingMixin:
    """For the asset admin: the script editor, the versions page and the per-platform page."""

    def get_urls(self):
        urls = [
            path("<path:object_id>/script/", self.admin_site.admin_view(self.edit_script_view),
                 name="pipeline_asset_script"),
            path("<path:object_id>/versions/", self.admin_site.admin_view(self.versions_view),
                 name="pipeline_asset_versions"),
            path("<path:object_id>/platforms/", self.admin_site.admin_view(self.platforms_view),
                 name="pipeline_asset_platforms"),
        ]
        return urls + super().get_urls()

    def _asset(self, request, object_id, *, change: bool) -> Asset:
        asset = self.get_object(request, unquote(object_id))
        if asset is None:
            raise Http404
        allowed = self.has_change_permission(request, asset) if change else self.has_view_permission(request, asset)
        if not allowed:
            raise PermissionDenied
        return asset

    def _back(self, asset):
        return HttpResponseRedirect(reverse("admin:pipeline_asset_change", args=[asset.pk]))

    # --- the script
    def edit_script_view(self, request, object_id):
        asset = self._asset(request, object_id, change=True)
        script = asset.script or {}
        if asset.state != Asset.State.AWAITING_REVIEW or not script:
            messages.warning(request, f"The script can be edited while the asset awaits review; it is {asset.state}.")
            return self._back(asset)
        if request.method == "POST":
            form = ScriptForm(request.POST)
            beats = BeatFormSet(request.POST, prefix="beats")
            if form.is_valid() and beats.is_valid():
                edited = {
                    **script, "title": form.cleaned_data["title"], "hook": form.cleaned_data["hook"],
                    "beats": [{key: beat[key] for key in ("on_screen", "narration", "visual_query")}
                              for beat in beats.cleaned_data if beat and not beat.get("DELETE")],
                    "caption_lines": form.lines(), "description": form.cleaned_data["description"],
                    "hashtags": parse_hashtags(form.cleaned_data["hashtags"]),
                }
                try:
                    asset, stage = revise_script(asset.pk, script=edited, user=request.user)
                except EditError as exc:
                    form.add_error(None, f"Not saved: {exc}")
                else:
                    if stage:
                        messages.success(request, f"Script saved; {RERUN_TEXT[stage]} will run again, and the asset "
                                                  "comes back for review when it is done.")
                    else:
                        messages.success(request, "Script saved; nothing needed to run again.")
                    return self._back(asset)
        else:
            form = ScriptForm(initial={
                "title": script.get("title", ""), "hook": script.get("hook", ""),
                "caption_lines": "\n".join(script.get("caption_lines") or []),
                "description": script.get("description", ""), "hashtags": " ".join(script.get("hashtags") or [])})
            beats = BeatFormSet(prefix="beats", initial=[
                {key: beat.get(key, "") for key in ("on_screen", "narration", "visual_query")}
                for beat in script.get("beats") or []])
        return admin_page(self, request, "admin/pipeline/asset/edit_script.html", f"Edit the script of {asset}",
                          original=asset, form=form, beats=beats)

    def versions_view(self, request, object_id):
        asset = self._asset(request, object_id, change=False)
        versions = list(script_versions(asset))
        by_number = {version.number: version for version in versions}
        newest = versions[0].number if versions else None
        try:
            right = int(request.GET.get("b") or newest or 0)
            left = int(request.GET.get("a") or (right - 1))
        except ValueError:
            left = right = 0
        rows = []
        if left in by_number and right in by_number:
            rows = script_diff(by_number[left].script, by_number[right].script)
        return admin_page(self, request, "admin/pipeline/asset/versions.html", f"Script versions of {asset}",
                          original=asset, versions=versions, left=by_number.get(left), right=by_number.get(right),
                          rows=rows, changed=sum(row["kind"] != "same" for row in rows))

    # --- per platform
    def platforms_view(self, request, object_id):
        asset = self._asset(request, object_id, change=False)
        editable = asset.state in EDITABLE_STATES and self.has_change_permission(request, asset)
        channels = {}
        for channel in asset.channels.all():
            channels.setdefault(channel.platform, channel)
        order = [*LIMITS, *sorted(channels)]
        platforms = sorted(channels, key=order.index)
        if request.method == "POST":
            if not editable:
                raise PermissionDenied
            platform = request.POST.get("platform", "")
            if platform not in platforms:
                messages.error(request, f"platform: {platform or 'none'} is not one of this asset's channels")
                return HttpResponseRedirect(request.path)
            form = PlatformCopyForm(request.POST, prefix=platform)
            if form.is_valid():
                try:
                    save_platform_copy(asset.pk, platform, title=form.cleaned_data["title"],
                                       caption=form.cleaned_data["caption"],
                                       hashtags=parse_hashtags(form.cleaned_data["hashtags"]), user=request.user)
                except EditError as exc:
                    messages.error(request, f"Not saved: {exc}")
                else:
                    messages.success(request, f"{limits_for(platform).label}: saved.")
                    return HttpResponseRedirect(f"{request.path}#platform-{platform}")
        cards = []
        # One query for every platform's override (platform_copy reads the prefetched list).
        asset = Asset.objects.prefetch_related("platform_copies").get(pk=asset.pk)
        overridden = {copy.platform for copy in asset.platform_copies.all()}
        for platform in platforms:
            title, caption, hashtags = platform_copy(asset, platform)
            limits = limits_for(platform)
            form = PlatformCopyForm(prefix=platform, initial={"title": title, "caption": caption,
                                                             "hashtags": " ".join(hashtags)})
            cards.append({"platform": platform, "limits": limits, "form": form, "title": title,
                          "account": channels[platform].name,
                          "caption": caption, "hashtags": hashtags, "text": compose(platform, caption, hashtags),
                          "overridden": platform in overridden})
        return admin_page(self, request, "admin/pipeline/asset/platforms.html", f"Per platform: {asset}",
                          original=asset, cards=cards, editable=editable)
