from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "publishing"
    verbose_name = "Publishing"

    def ready(self):
        from phantoms.engine import registry
        from publishing import platforms
        from publishing.models import Publication
        from publishing.services import settle_stuck_assets
        from publishing.stages import STAGES

        registry.track("publications", Publication)
        registry.register_stage(*STAGES.values())
        registry.register_repair("settled", settle_stuck_assets)
        registry.register_platforms(platforms.names)
