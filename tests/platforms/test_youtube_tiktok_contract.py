"""The YouTube and TikTok sandboxes against their reference pages, step by step (fixtures/<platform>/contract.json)."""

import httpx
import pytest

from sandbox.models import SandboxPost
from tests.platforms import docs_contract

pytestmark = pytest.mark.django_db(transaction=True)


def _saved(video: bytes) -> dict:
    return {"video_size": len(video), "video_last": len(video) - 1}


def test_the_youtube_sandbox_answers_as_youtube_documents(platform_sandbox, tiny_mp4):
    base = f"{platform_sandbox}/sandbox/platforms/youtube/"
    with httpx.Client(base_url=base, headers={"Authorization": "Bearer ya29.contract"}, timeout=10) as http:
        answers = docs_contract.run(http, docs_contract.load("youtube"), _saved(tiny_mp4), files={"video": tiny_mp4})
    assert SandboxPost.objects.get().remote_id == answers[2]["id"]


def test_the_tiktok_sandbox_answers_as_tiktok_documents(platform_sandbox, tiny_mp4, settings):
    settings.SANDBOX_PROCESSING_SECONDS = 0.3  # status/fetch is polled until PUBLISH_COMPLETE
    base = f"{platform_sandbox}/sandbox/platforms/tiktok/"
    with httpx.Client(base_url=base, headers={"Authorization": "Bearer act.contract"}, timeout=10) as http:
        answers = docs_contract.run(http, docs_contract.load("tiktok"), _saved(tiny_mp4), files={"video": tiny_mp4})
    assert answers[1]["data"]["upload_url"].startswith(base + "open-upload/video/?upload_id=")
    assert SandboxPost.objects.count() == 1
