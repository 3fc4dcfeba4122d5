from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "connections"
    verbose_name = "Connected accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Platform adapters ask publishing.platforms.credentials for tokens; this app answers.
        from connections import services
        from publishing.platforms import credentials

        credentials.use(services)
