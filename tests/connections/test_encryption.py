"""Tokens at rest: encrypted with the first key of a key list, readable with any, rotated by a command."""

import io
import pickle

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection as db

from connections.models import Connection
from phantoms.encryption import Secret, UnreadableSecret, decrypt, encrypt, parse_keys
from tests.factories import make_channel

pytestmark = pytest.mark.django_db
TOKEN = "ya29.a-token-that-must-never-show"


def raw(pk: int) -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT access_token FROM connections_connection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_a_secret_never_shows_itself():
    secret = Secret(TOKEN)
    assert TOKEN not in repr(secret) and TOKEN not in str(secret) and TOKEN not in f"{secret} {[secret]}"
    assert secret.reveal() == TOKEN
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_tokens_are_stored_as_ciphertext_and_read_back(settings):
    connection = Connection.objects.create(channel=make_channel("youtube", access_token=""), access_token=Secret(TOKEN))
    stored = raw(connection.pk)
    assert TOKEN not in stored and stored.startswith("gAAAAA")
    assert Connection.objects.get(pk=connection.pk).access_token.reveal() == TOKEN


def test_rotating_keys_keeps_every_channel(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TOKEN_KEYS = [old]
    connection = Connection.objects.create(channel=make_channel("tiktok", access_token=""), access_token=Secret(TOKEN),
                                           refresh_token=Secret("rt-also-secret"))
    written_with_old = raw(connection.pk)

    settings.TOKEN_KEYS = [new, old]  # the new key first; the old one still decrypts
    assert Connection.objects.get().access_token.reveal() == TOKEN
    call_command("rotate_token_keys", stdout=io.StringIO())
    assert raw(connection.pk) != written_with_old

    settings.TOKEN_KEYS = [new]  # the old key dropped: nothing lost
    row = Connection.objects.get()
    assert (row.access_token.reveal(), row.refresh_token.reveal()) == (TOKEN, "rt-also-secret")


def test_a_token_no_key_opens_is_reported_not_shown(settings):
    settings.TOKEN_KEYS = [Fernet.generate_key().decode()]
    Connection.objects.create(channel=make_channel("x", access_token=""), access_token=Secret(TOKEN))
    settings.TOKEN_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(UnreadableSecret) as unreadable:
        Connection.objects.get()
    assert TOKEN not in str(unreadable.value)
    with pytest.raises(CommandError, match="1 row"):
        call_command("rotate_token_keys", stdout=io.StringIO())


def test_a_bad_key_is_named_by_position_and_not_echoed():
    good = Fernet.generate_key().decode()
    with pytest.raises(ImproperlyConfigured) as bad:
        parse_keys(f"{good},not-a-key-at-all")
    assert "key 2" in str(bad.value) and "not-a-key-at-all" not in str(bad.value)
    with pytest.raises(ImproperlyConfigured):
        parse_keys("")
    assert decrypt(encrypt(Secret(TOKEN))).reveal() == TOKEN and encrypt("") == ""


def test_pasted_plaintext_tokens_move_into_the_encrypted_store(transactional_db):
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(db)
    before = [("connections", "0001_connected_accounts"), ("publishing", "0003_channel_team")]
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    channel = old_apps.get_model("publishing", "Channel").objects.create(
        platform="youtube", name="Pasted", account_id="UC-pasted", access_token=TOKEN)

    executor = MigrationExecutor(db)
    executor.migrate([("connections", "0002_channel_tokens_encrypted")])
    moved = executor.loader.project_state([("connections", "0002_channel_tokens_encrypted")]).apps.get_model(
        "connections", "Connection").objects.get(channel_id=channel.pk)
    assert moved.access_token.reveal() == TOKEN and TOKEN not in raw(moved.pk)
    MigrationExecutor(db).migrate(MigrationExecutor(db).loader.graph.leaf_nodes())
