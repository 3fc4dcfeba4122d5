"""Pages find their CSS, JS and icons: the admin and the API docs are served styled, offline."""

import re

import pytest

ASSET = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def static_urls(html: str) -> list[str]:
    return sorted(set(ASSET.findall(html)))


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/admin/", "/admin/pipeline/asset/", "/api/docs/", "/api/redoc/"])
def test_every_static_file_a_page_links_to_is_served(admin_client, page):
    response = admin_client.get(page)
    assert response.status_code == 200
    urls = static_urls(response.content.decode())
    assert urls, f"{page} links no static files"
    for url in urls:
        served = admin_client.get(url)
        assert served.status_code == 200, url
        # Content-hashed names: a new release never serves a stale file under an old URL.
        assert re.search(r"\.[0-9a-f]{12}\.\w+$", url), url
        assert "max-age" in served.headers.get("Cache-Control", ""), url


@pytest.mark.django_db
def test_the_api_docs_load_swagger_from_the_project_not_a_cdn(admin_client):
    html = admin_client.get("/api/docs/").content.decode()
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html
    assert any("swagger-ui" in url for url in static_urls(html))


def test_the_favicon_leads_to_an_svg_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    icon = client.get(response["Location"])
    assert icon.status_code == 200 and b"<svg" in b"".join(icon.streaming_content)
