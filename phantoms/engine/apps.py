from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "phantoms.engine"
    label = "engine"
    verbose_name = "Operations"
