"""The X sandbox against the X API v2 reference, step by step (fixtures/x/contract.json)."""

import httpx
import pytest

from tests.platforms import docs_contract

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_sandbox_answers_as_the_x_api_documents(platform_sandbox, tiny_mp4, settings):
    settings.SANDBOX_PROCESSING_SECONDS = 0.3  # finalize answers with processing_info, STATUS is polled
    base = f"{platform_sandbox}/sandbox/platforms/x/"
    saved = {"video_size": len(tiny_mp4), "long_text": "x" * 281}
    files = {"media": ("blob", tiny_mp4, "application/octet-stream")}
    with httpx.Client(base_url=base, headers={"Authorization": "Bearer x-token"}, timeout=10) as http:
        answers = docs_contract.run(http, docs_contract.load("x"), saved, files=files)
    finalize = answers[2]["data"]
    assert finalize["processing_info"]["state"] in ("pending", "in_progress")
    assert finalize["size"] == len(tiny_mp4)


def test_without_a_bearer_token_the_answer_is_a_401_problem(platform_sandbox):
    answer = httpx.get(f"{platform_sandbox}/sandbox/platforms/x/2/users/me")
    assert answer.status_code == 401
    assert answer.json() == {"title": "Unauthorized", "detail": "Unauthorized", "type": "about:blank", "status": 401}


def test_the_checker_notices_a_field_too_many_or_too_few():
    documented = {"data": {"id": "digits", "size?": "int"}}
    assert docs_contract.mismatches({"data": {"id": "12"}}, documented) == []
    assert docs_contract.mismatches({"data": {"id": "12", "extra": 1}}, documented) == [
        "body.data.extra: field not in the documentation"]
    assert docs_contract.mismatches({"data": {}}, documented) == ["body.data.id: documented field missing"]
    assert docs_contract.mismatches({"data": {"id": 12}}, documented) == ["body.data.id: 12 is not digits"]
