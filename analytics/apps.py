from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self):
        from analytics.models import MetricReadback
        from analytics.stages import READBACK
        from phantoms.engine import registry

        registry.track("readbacks", MetricReadback)
        registry.register_stage(READBACK)
