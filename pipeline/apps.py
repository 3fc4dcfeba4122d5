from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "pipeline"
    verbose_name = "Pipeline"

    def ready(self):
        from phantoms.engine import registry
        from pipeline.models import Asset
        from pipeline.stages import STAGES

        registry.track("assets", Asset)
        registry.register_stage(*STAGES.values())
