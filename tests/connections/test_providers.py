"""Each provider speaks to the platform's documented host unless the sandbox is on or a host is configured."""

from urllib.parse import parse_qs, urlsplit

import pytest

from connections.providers import provider_for

REAL_AUTHORIZE = {
    "youtube": "https://accounts.google.com/o/oauth2/v2/auth",
    "tiktok": "https://www.tiktok.com/v2/auth/authorize/",
    "instagram": "https://www.instagram.com/oauth/authorize",
    "x": "https://x.com/i/oauth2/authorize",
}


@pytest.mark.parametrize("platform", list(REAL_AUTHORIZE))
def test_outside_the_sandbox_the_real_authorization_servers_are_used(settings, platform):
    settings.PHANTOMS_SANDBOX = False
    settings.OAUTH_HOSTS = {}
    url = provider_for(platform).authorize_url(redirect_uri="https://phantoms.example/cb", state="s",
                                              code_challenge="c" * 43)
    assert url.split("?")[0] == REAL_AUTHORIZE[platform]
    query = parse_qs(urlsplit(url).query)
    assert query["state"] == ["s"] and query["response_type"] == ["code"]
    assert ("client_key" if platform == "tiktok" else "client_id") in query
    if platform == "youtube":
        assert query["access_type"] == ["offline"]
    if platform == "x":
        assert query["code_challenge_method"] == ["S256"] and "offline.access" in query["scope"][0].split()


def test_a_configured_host_wins(settings):
    settings.PHANTOMS_SANDBOX = True
    settings.OAUTH_HOSTS = {"x": {"api": "https://proxy.example/x-api"}}
    provider = provider_for("x")
    assert provider.url(provider.token_endpoint) == "https://proxy.example/x-api/2/oauth2/token"
    assert provider.url(provider.authorize_endpoint).startswith(f"{settings.SANDBOX_URL}/sandbox/oauth/x/twitter/")


def test_an_unknown_platform_is_named():
    with pytest.raises(ValueError, match="platform: 'myspace'"):
        provider_for("myspace")
