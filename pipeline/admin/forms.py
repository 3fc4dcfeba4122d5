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
