from django import forms

from accounts import scoping
from accounts.models import Team
from pipeline.models import Asset
from pipeline.services.briefs import BriefError, validate_brief_text, validate_providers
from publishing.selectors import channels_for


# --- the brief form: a new asset is created by the brief service so it starts scripting at once.
class BriefForm(forms.ModelForm):
    target_duration_seconds = forms.IntegerField(min_value=5, max_value=180, initial=20,
                                                 help_text="Between 5 and 180 seconds.")

    class Meta:
        model = Asset
        fields = ("team", "brief", "title", "channels", "target_duration_seconds", "providers")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None:
            teams = scoping.visible(Team.objects.all(), user)
            self.fields["team"].queryset = teams
            home = scoping.home_team(user)
            if home is not None:
                self.fields["team"].initial = home
            self.fields["channels"].queryset = channels_for(user, active_only=True)

    def clean_brief(self):
        try:
            return validate_brief_text(self.cleaned_data.get("brief"))
        except BriefError as exc:
            raise forms.ValidationError(exc.problem)

    def clean_providers(self):
        providers = self.cleaned_data.get("providers") or {}
        try:
            return validate_providers(providers)
        except BriefError as exc:
            raise forms.ValidationError(exc.problem)

    def clean(self):
        cleaned = super().clean()
        team = cleaned.get("team")
        foreign = [channel for channel in cleaned.get("channels") or () if team and channel.team_id != team.pk]
        if foreign:
            self.add_error("channels", f"{', '.join(map(str, foreign))}: not a channel of {team}")
        return cleaned


class ReviewNotesForm(forms.Form):
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 60}), required=False)


# --- editing the script before approval (pipeline.services.script_edits)
class ScriptForm(forms.Form):
    title = forms.CharField(max_length=100, help_text="Shown on the title card; the default title on every platform.")
    hook = forms.CharField(max_length=200, widget=forms.Textarea(attrs={"rows": 2, "cols": 80}),
                           help_text="The first words spoken. Changing them records a new voice.")
    caption_lines = forms.CharField(widget=forms.Textarea(attrs={"rows": 8, "cols": 80}),
                                    help_text="One burned-in caption line per row. Only the render runs again.")
    description = forms.CharField(required=False, max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
                                  help_text="Goes with the upload; nothing is rendered again.")
    hashtags = forms.CharField(required=False, max_length=500, help_text="Separated by spaces; # is added.")

    def lines(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["caption_lines"].splitlines() if line.strip()]


class BeatForm(forms.Form):
    on_screen = forms.CharField(max_length=120, label="On screen", help_text="Drawn by the render.")
    narration = forms.CharField(max_length=600, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                                help_text="Spoken: a change records a new voice.")
    visual_query = forms.CharField(max_length=120, required=False, label="Visual",
                                   help_text="What to show behind it: a change fetches new visuals.")


BeatFormSet = forms.formset_factory(BeatForm, extra=1, can_delete=True, min_num=1, validate_min=True, max_num=12,
                                    validate_max=True)


class PlatformCopyForm(forms.Form):
    title = forms.CharField(required=False, max_length=300)
    caption = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5, "cols": 60}))
    hashtags = forms.CharField(required=False, max_length=2000, help_text="Separated by spaces.")
