"""Media is private: staff who may see the asset get its files, nobody else; services use signed links."""

from pathlib import Path

import pytest
from django.urls import reverse

from pipeline.stages import content_addressed
from tests.admin.factories import make_asset, make_staff
from tests.factories import make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    asset = make_asset()
    folder = Path(settings.MEDIA_ROOT) / "assets" / str(asset.pk)
    folder.mkdir(parents=True)
    (folder / "video-0123456789abcdef.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 draft")
    return asset, f"/media/assets/{asset.pk}/video-0123456789abcdef.mp4"


def test_staff_who_may_view_the_asset_get_the_file(client, stored):
    _, url = stored
    client.force_login(make_staff(perms=["pipeline.view_asset"]))
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).endswith(b"draft")
    assert response["Cache-Control"] == "private, max-age=86400"


def test_anonymous_is_sent_to_log_in_and_gets_nothing(client, stored):
    _, url = stored
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    assert not getattr(response, "streaming", False)


def test_staff_without_the_view_permission_are_refused(client, stored):
    _, url = stored
    client.force_login(make_staff("nobody", perms=[]))
    assert client.get(url).status_code == 403


def test_another_teams_asset_is_not_found(client, stored):
    _, url = stored
    other = make_team("Elsewhere")
    client.force_login(make_staff("outsider", perms=["pipeline.view_asset"], teams=[other]))
    assert client.get(url).status_code == 404


def test_files_outside_an_assets_folder_are_never_served(client, settings, stored):
    Path(settings.MEDIA_ROOT, "instant-master-cover.jpg").write_bytes(b"jpeg")
    client.force_login(make_staff(perms=["pipeline.view_asset"]))
    assert client.get("/media/instant-master-cover.jpg").status_code == 404
    assert client.get(f"/media/assets/{stored[0].pk}/../../instant-master-cover.jpg").status_code == 404


def test_a_new_take_gets_a_new_name_and_the_api_links_are_signed(client, settings, stored, tmp_path):
    asset, _ = stored
    folder = Path(settings.MEDIA_ROOT) / "assets" / str(asset.pk)
    (folder / "video.mp4").write_bytes(b"first take")
    first = content_addressed(folder / "video.mp4")
    (folder / "video.mp4").write_bytes(b"second take")
    second = content_addressed(folder / "video.mp4")
    assert first != second and first.name.startswith("video-") and first.read_bytes() == b"first take"
    assert not (folder / "video.mp4").exists()

    asset.video.name = f"assets/{asset.pk}/{second.name}"
    asset.save(update_fields=["video"])
    client.force_login(make_staff(perms=["pipeline.view_asset"]))
    body = client.get(f"/api/assets/{asset.pk}/").json()
    assert "/signed-media/" in body["video_url"] and body["video_url"].endswith(second.name)
    signed = body["video_url"].split("://", 1)[1].split("/", 1)[1]
    client.logout()
    assert b"".join(client.get("/" + signed).streaming_content) == b"second take"


def test_a_player_can_ask_for_a_byte_range(client, stored):
    _, url = stored
    client.force_login(make_staff(perms=["pipeline.view_asset"]))
    whole = b"\x00\x00\x00\x18ftypmp42 draft"
    response = client.get(url, HTTP_RANGE="bytes=4-7")
    assert response.status_code == 206 and b"".join(response.streaming_content) == whole[4:8]
    assert response["Content-Range"] == f"bytes 4-7/{len(whole)}" and response["Accept-Ranges"] == "bytes"
    suffix = client.get(url, HTTP_RANGE="bytes=-5")
    assert suffix.status_code == 206 and b"".join(suffix.streaming_content) == b"draft"
    beyond = client.get(url, HTTP_RANGE=f"bytes={len(whole)}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(whole)}"
