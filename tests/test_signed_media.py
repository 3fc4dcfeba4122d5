"""Signed links to media: exactly one file, for a while, and nothing outside MEDIA_ROOT."""

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core import signing

from phantoms.signed_media import SALT, PageSigner, signed_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    folder = Path(settings.MEDIA_ROOT) / "assets" / "7"
    folder.mkdir(parents=True)
    (folder / "voice.wav").write_bytes(b"RIFF voice")
    (folder / "other.wav").write_bytes(b"RIFF other")
    (tmp_path / "secret.txt").write_text("not for you")
    return folder


def path_of(url: str) -> str:
    return url.removeprefix("https://phantoms.test")


def test_a_link_serves_its_file(client, media):
    url = signed_url(media / "voice.wav", base="https://phantoms.test/")
    assert url.startswith("https://phantoms.test/signed-media/") and url.endswith("/voice.wav")
    response = client.get(path_of(url))
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"RIFF voice"
    assert response["Content-Type"] == "audio/x-wav"


def test_a_link_cannot_be_turned_into_another_file(client, media):
    url = signed_url(media / "voice.wav", base="https://phantoms.test")
    assert client.get(path_of(url).replace("/voice.wav", "/other.wav")).status_code == 403
    token = path_of(url).split("/")[2]
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    assert client.get(f"/signed-media/{forged}/voice.wav").status_code == 403


def test_a_link_expires(client, media, settings):
    url = signed_url(media / "voice.wav", base="https://phantoms.test")
    settings.SIGNED_MEDIA_MAX_AGE = 0
    time.sleep(1.1)
    response = client.get(path_of(url))
    assert response.status_code == 410 and response.json()["error"] == "this link has expired"


def test_nothing_outside_media_root_is_linked_or_served(client, media, tmp_path):
    with pytest.raises(ValueError, match="not under MEDIA_ROOT"):
        signed_url(tmp_path / "secret.txt", base="https://phantoms.test")
    # Even a correctly signed name that climbs out of MEDIA_ROOT is refused.
    token = signing.dumps("../secret.txt", salt=SALT, compress=True)
    assert client.get(f"/signed-media/{token}/secret.txt").status_code == 404


def test_a_deleted_file_is_404(client, media):
    url = signed_url(media / "voice.wav", base="https://phantoms.test")
    (media / "voice.wav").unlink()
    assert client.get(path_of(url)).status_code == 404


@pytest.mark.parametrize("name", ["assets/7/voice.wav", "assets/7/a b%20c é.mp4", "assets/7/x;y=z&q?.mp4",
                                  "assets/7/" + "ab" * 150 + ".mp4",  # long enough that the token is compressed
                                  "assets/7/../7/voice.wav", "assets//7/voice.wav", "./assets/7/voice.wav"])
@pytest.mark.parametrize("base", ["https://phantoms.test/", "https://phantoms.test", "/"])
def test_a_page_signer_gives_the_links_signed_url_gives(media, monkeypatch, name, base):
    # One signing second for both links, patched where Django's signer reads the clock only: a
    # module imported meanwhile must not keep the stand-in as its clock.
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: 1_800_000_000.0))
    expected = signed_url(Path(media.parent.parent) / name, base=base)
    assert PageSigner(base=base).url(name) == expected
    assert PageSigner(base=base).url("") is None


def test_a_page_signer_link_serves_its_file(client, media):
    url = PageSigner(base="https://phantoms.test/").url("assets/7/voice.wav")
    response = client.get(path_of(url))
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"RIFF voice"
