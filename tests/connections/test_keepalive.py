"""Idle channels keep working: the housekeeping pass refreshes what would lapse before the next post
(docs/platforms.md, "Tokens"), against the sandbox's authorization servers over real HTTP."""

from datetime import timedelta

from django.utils import timezone

from connections import services
from connections.models import Connection
from sandbox.oauth.models import OAuthGrant, OAuthToken
from tests.connections.test_fresh_tokens import accepted, connected

DAY = timedelta(days=1)


def age(connection: Connection, days: float, **fields):
    """Pretend the connection's tokens were issued `days` ago, with these expiries."""
    Connection.objects.filter(pk=connection.pk).update(
        connected_at=timezone.now() - days * DAY, refreshed_at=None, **fields)
    connection.refresh_from_db()
    return connection


def test_an_idle_instagram_token_is_refreshed_before_it_ends(oauth_sandbox, admin_client):
    _, connection = connected(admin_client, "instagram")
    old = connection.access_token.reveal()
    # 50 days after the exchange: the long-lived token has 10 days left and nothing has posted since.
    age(connection, 50, expires_at=timezone.now() + 10 * DAY)

    assert services.keep_idle_connections_alive() == {"refreshed": 1, "needs_reauth": 0, "retry_later": 0}

    connection.refresh_from_db()
    fresh = connection.access_token.reveal()
    assert fresh != old and accepted("instagram", fresh)
    assert connection.generation == 2 and connection.refreshed_at > timezone.now() - timedelta(minutes=1)
    assert connection.expires_at > timezone.now() + 59 * DAY  # 60 days from the refresh


def test_a_tiktok_refresh_token_near_its_end_is_exchanged_for_a_new_one(oauth_sandbox, admin_client):
    _, connection = connected(admin_client, "tiktok")
    old_refresh = connection.refresh_token.reveal()
    age(connection, 355, refresh_expires_at=timezone.now() + 10 * DAY)

    assert services.keep_idle_connections_alive()["refreshed"] == 1

    connection.refresh_from_db()
    assert connection.refresh_token.reveal() != old_refresh
    assert connection.refresh_expires_at > timezone.now() + 360 * DAY
    assert OAuthToken.objects.get(value=old_refresh).spent_at is not None  # rotated at the platform


def test_a_refresh_token_unused_for_a_month_is_used(oauth_sandbox, admin_client, settings):
    """Google stops honouring a refresh token left unused for six months; a monthly use keeps it."""
    settings.CONNECTIONS_IDLE_REFRESH_DAYS = 30
    _, connection = connected(admin_client, "youtube")
    age(connection, 29)
    assert services.keep_idle_connections_alive()["refreshed"] == 0
    age(connection, 31)
    issued = OAuthToken.objects.filter(kind="access").count()

    assert services.keep_idle_connections_alive()["refreshed"] == 1

    assert OAuthToken.objects.filter(kind="access").count() == issued + 1
    connection.refresh_from_db()
    assert connection.generation == 2 and accepted("youtube", connection.access_token.reveal())


def test_fresh_connections_are_left_alone(oauth_sandbox, admin_client):
    for platform in ("youtube", "tiktok", "instagram", "x"):
        connected(admin_client, platform, account=f"{platform} creator")
    issued = OAuthToken.objects.count()

    assert services.keep_idle_connections_alive() == {"refreshed": 0, "needs_reauth": 0, "retry_later": 0}

    assert OAuthToken.objects.count() == issued
    assert set(Connection.objects.values_list("generation", flat=True)) == {1}


def test_a_connection_is_refreshed_at_most_once_a_day(oauth_sandbox, admin_client):
    _, connection = connected(admin_client, "instagram")
    age(connection, 50, expires_at=timezone.now() + 10 * DAY)
    assert services.keep_idle_connections_alive()["refreshed"] == 1
    # Whatever the platform answered, the next pass (six hours later) does not refresh it again.
    Connection.objects.filter(pk=connection.pk).update(expires_at=timezone.now() + 10 * DAY)

    assert services.keep_idle_connections_alive(now=timezone.now() + timedelta(hours=6))["refreshed"] == 0
    assert Connection.objects.get(pk=connection.pk).generation == 2


def test_a_refused_keepalive_marks_needs_reauth_and_the_others_still_refresh(oauth_sandbox, admin_client):
    _, tiktok = connected(admin_client, "tiktok", account="Revoked Creator")
    _, instagram = connected(admin_client, "instagram", account="Idle Creator")
    OAuthGrant.objects.filter(platform="tiktok").update(revoked_at=timezone.now())  # revoked at TikTok
    age(tiktok, 355, refresh_expires_at=timezone.now() + 10 * DAY)
    age(instagram, 50, expires_at=timezone.now() + 10 * DAY)

    assert services.keep_idle_connections_alive() == {"refreshed": 1, "needs_reauth": 1, "retry_later": 0}

    tiktok.refresh_from_db()
    instagram.refresh_from_db()
    assert tiktok.status == "needs_reauth" and "invalid" in tiktok.last_error.lower()
    assert instagram.status == "connected" and instagram.generation == 2


def test_an_unreachable_platform_is_tried_again_on_the_next_pass(oauth_sandbox, admin_client, settings):
    import socket

    _, connection = connected(admin_client, "instagram")
    age(connection, 50, expires_at=timezone.now() + 10 * DAY)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.OAUTH_HOSTS = {"instagram": {"graph": f"http://127.0.0.1:{port}"}}

    assert services.keep_idle_connections_alive() == {"refreshed": 0, "needs_reauth": 0, "retry_later": 1}
    connection.refresh_from_db()
    assert connection.status == "connected" and connection.generation == 1

    settings.OAUTH_HOSTS = {}
    assert services.keep_idle_connections_alive()["refreshed"] == 1


def test_the_scheduler_runs_the_pass_on_the_housekeeping_queue(settings):
    """What `manage.py rqcron phantoms.cron` loads."""
    from rq.cron import CronScheduler

    from connections.jobs import keep_connections_alive
    from phantoms.redis import get_redis

    scheduler = CronScheduler(connection=get_redis())
    scheduler.load_config_from_file("phantoms.cron")
    jobs = {job.func: job for job in scheduler.get_jobs()}

    assert jobs[keep_connections_alive].queue_name == "housekeeping"
    assert jobs[keep_connections_alive].interval == int(settings.CONNECTIONS_KEEPALIVE_HOURS * 3600) == 21600
