"""Compare the requests an adapter sent with a recorded fixture written from the platform's documentation."""

import json
from pathlib import Path
from urllib.parse import parse_qsl

import httpx

HERE = Path(__file__).parent


def load(name: str) -> dict:
    return json.loads((HERE / "recorded" / f"{name}.json").read_text())


def fill(value, values: dict):
    if isinstance(value, str):
        for key, replacement in values.items():
            if value == f"<{key}>" and not isinstance(replacement, str):
                return replacement  # a number in a JSON body
            value = value.replace(f"<{key}>", str(replacement))
        return value
    if isinstance(value, dict):
        return {key: fill(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, values) for item in value]
    return value


def describe(request: httpx.Request, expected: dict) -> dict:
    """The parts of a sent request that the fixture speaks about, in the fixture's terms."""
    url = str(request.url.copy_with(query=None))
    seen: dict = {"method": request.method, "url": url}
    if "query" in expected:
        seen["query"] = dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))
    seen["headers"] = {name: request.headers.get(name) for name in expected.get("headers", {})}
    if "json" in expected:
        seen["json"] = json.loads(request.content) if request.content else None
    if "body" in expected:
        seen["body"] = request.content
    if "form" in expected:
        seen["form"] = dict(parse_qsl(request.content.decode()))
    return seen


def assert_sent(sent: list[httpx.Request], name: str, values: dict, video: bytes = b""):
    fixture = load(name)
    expected_requests = fill(fixture["requests"], values)
    assert len(sent) == len(expected_requests), [f"{r.method} {r.url}" for r in sent]
    for request, expected in zip(sent, expected_requests, strict=True):
        if expected.get("body") == "<video>":
            expected = {**expected, "body": video}
        elif isinstance(expected.get("body"), str):
            expected = {**expected, "body": expected["body"].encode()}
        seen = describe(request, expected)
        # A session or upload URL is the platform's to choose: only its fixed part is documented.
        if "url" in expected and "?" in expected["url"]:
            expected = {**expected, "url": expected["url"].split("?")[0]}
        assert seen == {key: expected[key] for key in seen}, (request.method, str(request.url))
