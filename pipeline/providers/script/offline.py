from pipeline.providers.base import ScriptResult, ScriptWriter
from pipeline.script_format import compose_template_script


class TemplateScriptWriter(ScriptWriter):
    """Writes a structured script from the brief without a model: no key, no network.

    An editor's notes on a send-back steer the rewrite (pipeline.providers.script.composer); they
    are never read out.
    """

    name = "offline"

    def write(self, asset, *, words_per_second: float | None = None) -> ScriptResult:
        notes = asset.review_notes if asset.review_notes and asset.reviewed_at else ""
        script = compose_template_script(asset.brief, title=asset.title,
                                         target_duration_seconds=asset.target_duration_seconds,
                                         words_per_second=words_per_second, notes=notes)
        return ScriptResult(script=script, model="offline-writer-v2", usage={"cost_usd": 0.0})
