from pipeline.providers.base import ScriptResult, ScriptWriter
from pipeline.script_format import compose_template_script


class TemplateScriptWriter(ScriptWriter):
    """Writes a structured script from the brief with a template: no key, no network."""

    name = "offline"

    def write(self, asset) -> ScriptResult:
        brief = asset.brief
        if asset.review_notes and asset.reviewed_at:
            # Sent back by an editor: the notes are part of what the rewrite must address.
            brief = f"{brief} {asset.review_notes}"
        script = compose_template_script(brief, title=asset.title,
                                         target_duration_seconds=asset.target_duration_seconds)
        return ScriptResult(script=script, model="template-v1")
