from django import forms

from pipeline.models import Asset
from pipeline.services.briefs import BriefError, validate_providers


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
