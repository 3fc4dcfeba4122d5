"""The five roles (accounts.roles) as groups with their permissions; holders of the old single review
permission get both halves of it (approve, reject)."""

from django.db import migrations

from accounts.roles import sync_roles


def split_review_permission(apps, schema_editor):
    permission_model = apps.get_model("auth", "Permission")
    old = permission_model.objects.filter(content_type__app_label="pipeline", codename="review_asset").first()
    if old is None:
        return
    new = list(permission_model.objects.filter(content_type__app_label="pipeline",
                                               codename__in=["approve_asset", "reject_asset"]))
    for user in apps.get_model("auth", "User").objects.filter(user_permissions=old):
        user.user_permissions.add(*new)
    for group in apps.get_model("auth", "Group").objects.filter(permissions=old):
        group.permissions.add(*new)
    old.delete()


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("pipeline", "0009_drop_asset_idempotency_key"),
        ("publishing", "0003_channel_team"),
        ("engine", "0003_operator_permissions"),
        # After the records moved to the engine: the roles' permissions are created from this state,
        # which must hold no model the move took away.
        ("phantoms", "0002_records_move_to_engine"),
        ("analytics", "0003_failing_since_due_index"),
        ("sandbox", "0001_initial"),
        ("django_rq", "0003_alter_dashboard_permission_names"),
    ]

    operations = [
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
        migrations.RunPython(split_review_permission, migrations.RunPython.noop),
    ]
