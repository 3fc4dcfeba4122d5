from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Access"

    def ready(self):
        from django.db.models.signals import post_migrate

        from accounts import schema  # noqa: F401  (registers the token scheme with the API schema)

        post_migrate.connect(keep_roles, sender=self)


def keep_roles(sender, apps=None, using="default", **kwargs):
    """The roles exist as accounts.roles defines them after every migrate or flush."""
    from django.apps import apps as installed_apps
    from django.db import router

    from accounts.roles import sync_roles

    if router.allow_migrate(using, "auth"):
        sync_roles(apps or installed_apps)
