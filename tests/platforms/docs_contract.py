"""Check a sandbox against request/answer examples written from a platform's reference pages.

A fixture (tests/platforms/fixtures/<platform>/contract.json) lists steps: a request and the answer
the documentation describes, as a status and a body whose values are types (`digits`, `string`,
`int`, `bool`, `enum:A|B`, `[item]`, and `key?` for a field that may be absent). The answer must
have exactly the documented fields — no field the documentation does not list, none missing —
so the imitation cannot drift into a protocol of its own.
"""

import json
import re
import time
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def load(platform: str) -> dict:
    return json.loads((FIXTURES / platform / "contract.json").read_text())


def fill(value, saved: dict):
    if isinstance(value, str):
        whole = re.fullmatch(r"\{(\w+)\}", value)
        if whole and whole.group(1) in saved and not isinstance(saved[whole.group(1)], str):
            return saved[whole.group(1)]
        return re.sub(r"\{(\w+)\}", lambda m: str(saved[m.group(1)]), value)
    if isinstance(value, list):
        return [fill(v, saved) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, saved) for k, v in value.items()}
    return value


def dig(body, dotted: str):
    for part in dotted.split("."):
        body = body[int(part)] if isinstance(body, list) else body[part]
    return body


def mismatches(actual, documented, where: str = "body") -> list[str]:
    """Every way `actual` differs from the documented shape."""
    problems: list[str] = []
    if isinstance(documented, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        keys = {k.rstrip("?"): k.endswith("?") for k in documented}
        for name, optional in keys.items():
            if name not in actual:
                if not optional:
                    problems.append(f"{where}.{name}: documented field missing")
                continue
            spec = documented[name + "?" if optional else name]
            problems += mismatches(actual[name], spec, f"{where}.{name}")
        problems += [f"{where}.{name}: field not in the documentation" for name in actual if name not in keys]
        return problems
    if isinstance(documented, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, got {actual!r}"]
        if documented and not actual:
            return [f"{where}: expected at least one item"]
        for i, item in enumerate(actual):
            problems += mismatches(item, documented[0], f"{where}[{i}]") if documented else []
        return problems
    kind = documented
    if kind == "digits":
        ok = isinstance(actual, str) and actual.isdigit()
    elif kind == "string":
        ok = isinstance(actual, str)
    elif kind == "int":
        ok = isinstance(actual, int) and not isinstance(actual, bool)
    elif kind == "bool":
        ok = isinstance(actual, bool)
    elif kind.startswith("enum:"):
        ok = actual in kind[5:].split("|")
    else:
        raise ValueError(f"unknown type {kind!r} in a contract fixture")
    return [] if ok else [f"{where}: {actual!r} is not {kind}"]


def run(http, contract: dict, saved: dict, *, files: dict | None = None, timeout: float = 15.0) -> list[dict]:
    """Run every step against `http` (an httpx.Client on the sandbox's platform prefix); returns the answers."""
    answers = []
    for step in contract["steps"]:
        request = fill(step["request"], saved)
        kwargs: dict = {"params": request.get("params")}
        if "json" in request:
            kwargs["json"] = request["json"]
        if "form" in request:
            kwargs["data"] = request["form"]
        if "multipart" in request:
            kwargs["data"] = request["multipart"]
            kwargs["files"] = {request["file"]: files[request["file"]]}
        if "content" in request:  # raw bytes (an upload chunk), named among `files`
            kwargs["content"] = files[request["content"]] if request["content"] else b""
        if "headers" in request:
            kwargs["headers"] = {name: str(value) for name, value in request["headers"].items()}
        deadline = time.monotonic() + timeout
        while True:
            response = http.request(request["method"], request["path"], **kwargs)
            body = response.json() if step["response"].get("body") is not None else None
            until = step.get("until")
            if not until or all(_get(body, k) == v for k, v in until.items()) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        expected = step["response"]
        label = f"{step['doc']} ({request['method']} {request['path']})"
        assert response.status_code == expected["status"], f"{label}: HTTP {response.status_code} {body}"
        if expected.get("body") is not None:
            problems = mismatches(body, expected["body"])
            assert not problems, f"{label}: " + "; ".join(problems)
        for header, pattern in expected.get("headers", {}).items():
            assert re.fullmatch(fill(pattern, saved), response.headers.get(header, "")), (
                f"{label}: header {header} is {response.headers.get(header)!r}")
        for name, header in step.get("save_header", {}).items():
            saved[name] = response.headers[header]
        for dotted, value in fill(step.get("expect", {}), saved).items():
            assert str(dig(body, dotted)) == str(value), f"{label}: {dotted} is {dig(body, dotted)!r}, not {value!r}"
        for header in contract.get("headers", []):
            assert header in response.headers, f"{label}: header {header} missing"
        for name, dotted in step.get("save", {}).items():
            saved[name] = dig(body, dotted)
        answers.append(body)
    return answers


def _get(body, dotted: str):
    try:
        return dig(body, dotted)
    except (KeyError, IndexError, TypeError):
        return None
