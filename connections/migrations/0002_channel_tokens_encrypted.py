"""Channel tokens pasted in the admin (publishing.Channel.access_token, plaintext) move into the
encrypted store; publishing's next migration then drops the plaintext column."""

from django.db import migrations


def encrypt_pasted_tokens(apps, schema_editor):
    Channel = apps.get_model("publishing", "Channel")
    Connection = apps.get_model("connections", "Connection")
    for channel in Channel.objects.exclude(access_token="").iterator():
        # The field encrypts on save; a pasted token has no known expiry, refresh token or scopes.
        Connection.objects.get_or_create(channel=channel, defaults={"access_token": channel.access_token})


def decrypt_back(apps, schema_editor):
    Channel = apps.get_model("publishing", "Channel")
    Connection = apps.get_model("connections", "Connection")
    for connection in Connection.objects.iterator():
        Channel.objects.filter(pk=connection.channel_id).update(access_token=connection.access_token.reveal()[:500])


class Migration(migrations.Migration):

    dependencies = [
        ("connections", "0001_connected_accounts"),
        ("publishing", "0003_channel_team"),
    ]

    operations = [migrations.RunPython(encrypt_pasted_tokens, decrypt_back)]
