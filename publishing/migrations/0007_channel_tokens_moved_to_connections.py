"""The plaintext token column goes: connections' 0002 moved every token into its encrypted store."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("publishing", "0006_platform_copy_choices_from_registry"),
        ("connections", "0002_channel_tokens_encrypted"),
    ]

    operations = [migrations.RemoveField(model_name="channel", name="access_token")]
