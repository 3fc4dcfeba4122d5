"""The Instagram sandbox against the Graph API reference, step by step (fixtures/instagram/contract.json)."""

import httpx
import pytest

from phantoms.signed_media import signed_url
from tests.platforms import docs_contract

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_sandbox_answers_as_the_graph_api_documents(platform_sandbox, media_file):
    base = f"{platform_sandbox}/sandbox/platforms/instagram/v23.0/"
    saved = {"ig_user_id": "17841400000000001", "video_url": signed_url(media_file, base=platform_sandbox)}
    with httpx.Client(base_url=base, headers={"Authorization": "Bearer ig-token"}, timeout=10) as http:
        docs_contract.run(http, docs_contract.load("instagram"), saved)


def test_the_version_segment_is_optional_and_a_token_is_required(platform_sandbox):
    base = f"{platform_sandbox}/sandbox/platforms/instagram/"
    answer = httpx.get(base + "17841400000000001/content_publishing_limit")
    assert answer.status_code == 400
    assert docs_contract.mismatches(answer.json(), {"error": {"message": "string", "type": "string", "code": "int",
                                                              "fbtrace_id": "string"}}) == []
    ok = httpx.get(base + "17841400000000001/content_publishing_limit", params={"access_token": "t"})
    assert ok.status_code == 200 and ok.json() == {"data": [{"quota_usage": 0}]}
