"""The five roles: Django groups holding permissions, created by migration `accounts.0002_roles`,
and kept as defined here after every `migrate` (and `flush`) by AccountsConfig.ready's post_migrate hook.

Admin and API check the same permissions, and the state machines carry them on their transitions
(`pipeline.Asset.approve` needs `pipeline.approve_asset`, and so on), so a role means the same
thing wherever it acts.
"""

EDITOR, APPROVER, OPERATOR, INTEGRATION, VIEWER = "editor", "approver", "operator", "integration", "viewer"
ROLE_NAMES = (EDITOR, APPROVER, OPERATOR, INTEGRATION, VIEWER)

# What everyone but an integration may read within their teams.
READ = (
    "pipeline.view_asset", "pipeline.view_prompttemplate", "publishing.view_publication", "publishing.view_channel",
    "engine.view_transitionlog", "engine.view_stageattempt", "engine.view_deadletter",
    "analytics.view_metricreadback", "analytics.view_metricrollup", "accounts.view_auditevent",
)

ROLES: dict[str, dict] = {
    VIEWER: {
        "description": "Reads assets, publications, dead letters (without tracebacks) and the audit trail.",
        "permissions": READ,
    },
    EDITOR: {
        "description": "Submits briefs, edits assets before approval, rejects or sends back, cancels; "
                       "edits prompt templates.",
        "permissions": READ + (
            "pipeline.add_asset", "pipeline.change_asset", "pipeline.reject_asset",
            "pipeline.add_prompttemplate", "pipeline.change_prompttemplate",
        ),
    },
    APPROVER: {
        "description": "Approves assets (which publishes them) and resolves failed or needs-attention publications.",
        "permissions": READ + ("pipeline.approve_asset", "publishing.resolve_publication"),
    },
    OPERATOR: {
        "description": "Dead letters (with tracebacks, requeue, discard), circuit breakers, the queue dashboard, "
                       "the sandbox ledger, channels and integration tokens.",
        "permissions": READ + (
            "engine.view_deadletter_traceback", "engine.requeue_deadletter", "engine.view_breakers",
            "engine.manage_breakers", "engine.view_breakerevent", "django_rq.admin",
            "publishing.resolve_publication", "publishing.add_channel", "publishing.change_channel",
            "publishing.delete_channel", "sandbox.view_sandboxpost", "sandbox.view_sandboxrender",
            "accounts.view_integrationtoken", "accounts.add_integrationtoken", "accounts.change_integrationtoken",
            "analytics.view_readingschedule", "analytics.add_readingschedule", "analytics.change_readingschedule",
            "analytics.delete_readingschedule",
        ),
    },
    INTEGRATION: {
        "description": "An API token's usual role: submits briefs and reads the assets it submitted.",
        "permissions": ("pipeline.add_asset",),
    },
}


def sync_roles(apps, schema_editor=None):
    """Create (or bring up to date) one group per role holding exactly its permissions."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; the roles need them now.
    for app_config in apps.get_app_configs():
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True  # migration states have none; create_permissions skips those
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = original

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, role in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=name)
        wanted = []
        for dotted in role["permissions"]:
            app_label, codename = dotted.split(".")
            permission = permission_model.objects.filter(content_type__app_label=app_label, codename=codename).first()
            # A model a later migration creates has no permission yet at this point of the history; the
            # post_migrate sync, after every migration, adds it.
            if permission is not None:
                wanted.append(permission)
        group.permissions.set(wanted)
