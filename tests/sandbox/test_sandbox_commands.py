import io
import json

import pytest
from django.core.management import CommandError, call_command

from sandbox import faults
from sandbox.models import SandboxPost
from sandbox.services import ledger_summary


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db  # each change is recorded in the audit trail
def test_set_faults_from_the_command_line():
    output = run("sandbox_faults", "set", "youtube", "--error-rate", "0.5", "--outage", "on",
                 "--latency-ms", "20", "--retry-after", "9")
    current = faults.get_faults("youtube")
    assert current["error_rate"] == 0.5
    assert current["outage"] is True
    assert current["latency_ms"] == 20
    assert current["retry_after"] == 9
    assert "error_rate" in output

    run("sandbox_faults", "set", "youtube", "--outage", "off")
    assert faults.get_faults("youtube")["outage"] is False
    assert faults.get_faults("youtube")["error_rate"] == 0.5


@pytest.mark.django_db  # each change is recorded in the audit trail
def test_set_every_option():
    run("sandbox_faults", "set", "openai", "--timeout-rate", "0.1", "--rate-limit-rate", "0.2",
        "--accept-then-timeout-rate", "0.3", "--quota-exhausted", "on")
    current = faults.get_faults("openai")
    assert (current["timeout_rate"], current["rate_limit_rate"], current["accept_then_timeout_rate"]) == (
        0.1, 0.2, 0.3)
    assert current["quota_exhausted"] is True


def test_show_lists_every_target():
    faults.set_faults("tiktok", rate_limit_rate=0.25)
    output = run("sandbox_faults", "show")
    lines = {line.split()[0]: line for line in output.splitlines()}
    assert set(lines) == set(faults.TARGETS)
    assert "rate_limit_rate" in lines["tiktok"]
    assert "(none)" in lines["youtube"]


@pytest.mark.django_db  # each change is recorded in the audit trail
def test_clear_one_and_all():
    faults.set_faults("x", error_rate=1.0)
    faults.set_faults("tts", outage=True)
    run("sandbox_faults", "clear", "x")
    assert faults.get_faults("x")["error_rate"] == 0.0
    assert faults.get_faults("tts")["outage"] is True
    run("sandbox_faults", "clear")
    assert faults.get_faults("tts")["outage"] is False


@pytest.mark.parametrize(("args", "named"), [
    (["set", "youtube", "--error-rate", "1.5"], "--error-rate"),
    (["set", "youtube", "--timeout-rate", "abc"], "--timeout-rate"),
    (["set", "youtube", "--latency-ms", "-5"], "--latency-ms"),
    (["set", "youtube", "--outage", "maybe"], "--outage"),
    (["set", "myspace", "--error-rate", "0.1"], "TARGET"),
    (["set", "youtube"], "at least one option"),
    (["clear", "myspace"], "TARGET"),
])
def test_bad_input_names_the_option(args, named):
    with pytest.raises(CommandError, match=named):
        run("sandbox_faults", *args)
    assert faults.get_faults("youtube") == faults.DEFAULTS


def make_post(platform, asset_ref, client_ref="c", remote_id=None):
    return SandboxPost.objects.create(platform=platform, asset_ref=asset_ref, client_ref=client_ref,
                                      remote_id=remote_id or f"{platform}_{SandboxPost.objects.count()}")


@pytest.mark.django_db
def test_ledger_summary_counts_double_posts():
    make_post("youtube", "a1")
    make_post("youtube", "a1")
    make_post("youtube", "a1")
    make_post("tiktok", "a1")
    make_post("tiktok", "a2")
    make_post("x", "")
    make_post("x", "")
    summary = ledger_summary()
    assert summary["posts"] == 7
    assert summary["duplicates"] == 2
    assert summary["by_platform"] == {
        "youtube": {"posts": 3, "duplicates": 2},
        "tiktok": {"posts": 2, "duplicates": 0},
        "x": {"posts": 2, "duplicates": 0},
    }
    assert summary["duplicated_assets"] == [{"platform": "youtube", "asset_ref": "a1", "count": 3}]
    assert ledger_summary("tiktok")["posts"] == 2


@pytest.mark.django_db
def test_ledger_command_text_and_json():
    make_post("instagram", "asset-5", client_ref="k1", remote_id="ig_one")
    make_post("instagram", "asset-5", client_ref="k2", remote_id="ig_two")
    make_post("youtube", "asset-6", client_ref="k3", remote_id="yt_three")

    text = run("sandbox_ledger")
    assert "ig_one" in text and "yt_three" in text and "client_ref=k2" in text
    assert text.strip().splitlines()[-1].startswith("3 posts, 1 duplicates")

    data = json.loads(run("sandbox_ledger", "--json", "--platform", "instagram"))
    assert [row["remote_id"] for row in data["posts"]] == ["ig_one", "ig_two"]
    assert data["summary"]["duplicates"] == 1
    assert data["summary"]["posts"] == 2


@pytest.mark.django_db
def test_ledger_rejects_unknown_platform():
    with pytest.raises(CommandError, match="platform"):
        run("sandbox_ledger", "--platform", "myspace")
