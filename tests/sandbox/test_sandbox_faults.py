import json
import time

import pytest
from django.test import RequestFactory

from sandbox import faults
from sandbox.faults import inject


@pytest.fixture
def request_():
    return RequestFactory().post("/sandbox/anything")


def body(response) -> dict:
    return json.loads(response.content)


def test_defaults_are_typed_zeroes():
    current = faults.get_faults("youtube")
    assert current == {
        "error_rate": 0.0, "timeout_rate": 0.0, "rate_limit_rate": 0.0, "accept_then_timeout_rate": 0.0,
        "latency_ms": 0, "outage": False, "retry_after": 2, "quota_exhausted": False,
        "lost_answers_on_posts_only": False,
    }


def test_set_merges_and_types_values():
    faults.set_faults("tiktok", error_rate=0.25, latency_ms="40")
    faults.set_faults("tiktok", outage=True)
    current = faults.get_faults("tiktok")
    assert current["error_rate"] == 0.25
    assert current["latency_ms"] == 40 and isinstance(current["latency_ms"], int)
    assert current["outage"] is True
    assert faults.get_faults("instagram")["error_rate"] == 0.0


def test_none_resets_a_field_to_its_default():
    faults.set_faults("x", error_rate=0.5, retry_after=9)
    faults.set_faults("x", error_rate=None)
    current = faults.get_faults("x")
    assert current["error_rate"] == 0.0
    assert current["retry_after"] == 9


@pytest.mark.parametrize(("fields", "named"), [
    ({"error_rate": 1.5}, "error_rate"),
    ({"timeout_rate": -0.1}, "timeout_rate"),
    ({"rate_limit_rate": "lots"}, "rate_limit_rate"),
    ({"accept_then_timeout_rate": float("nan")}, "accept_then_timeout_rate"),
    ({"latency_ms": -1}, "latency_ms"),
    ({"outage": "maybe"}, "outage"),
    ({"colour": 1}, "colour"),
])
def test_invalid_settings_name_the_field(fields, named):
    with pytest.raises(ValueError, match=named):
        faults.set_faults("openai", **fields)
    assert faults.get_faults("openai") == faults.DEFAULTS


def test_unknown_target_is_rejected():
    with pytest.raises(ValueError, match="unknown target"):
        faults.set_faults("myspace", error_rate=0.1)
    with pytest.raises(ValueError, match="unknown target"):
        faults.get_faults("myspace")


def test_clear_one_target_or_all():
    faults.set_faults("youtube", error_rate=1.0)
    faults.set_faults("render", outage=True)
    faults.clear_faults("youtube")
    assert faults.get_faults("youtube")["error_rate"] == 0.0
    assert faults.get_faults("render")["outage"] is True
    faults.clear_faults()
    assert faults.get_faults("render")["outage"] is False


def test_no_faults_lets_the_call_through_and_counts_it(request_):
    assert faults.apply_faults("youtube", request_) is None
    assert faults.apply_faults("youtube", request_) is None
    assert faults.call_count("youtube") == 2
    assert faults.call_count("tiktok") == 0
    faults.reset_call_counts()
    assert faults.call_count("youtube") == 0


def test_outage_answers_503_to_everything(request_):
    faults.set_faults("render", outage=True)
    response = faults.apply_faults("render", request_)
    assert response.status_code == 503
    assert body(response)["success"] is False
    assert faults.call_count("render") == 1
    assert faults.fault_counts("render") == {"outage": 1}


def test_error_rate_answers_500(request_):
    faults.set_faults("instagram", error_rate=1.0)
    response = faults.apply_faults("instagram", request_)
    assert response.status_code == 500
    assert body(response)["error"]["code"] == "server_error"


def test_rate_limit_sends_retry_after(request_):
    faults.set_faults("youtube", rate_limit_rate=1.0)
    response = faults.apply_faults("youtube", request_)
    assert response.status_code == 429
    assert response["Retry-After"] == "2"
    faults.set_faults("youtube", retry_after=7)
    assert faults.apply_faults("youtube", request_)["Retry-After"] == "7"


def test_rate_limit_on_x_sends_an_epoch_reset_instead(request_):
    faults.set_faults("x", rate_limit_rate=1.0, retry_after=5)
    response = faults.apply_faults("x", request_)
    assert response.status_code == 429
    assert not response.has_header("Retry-After")
    reset = int(response["x-rate-limit-reset"])
    assert time.time() + 4 <= reset <= time.time() + 7


def test_openai_errors_use_the_openai_shape(request_):
    faults.set_faults("openai", rate_limit_rate=1.0)
    error = body(faults.apply_faults("openai", request_))["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == "rate_limit_exceeded"

    faults.set_faults("openai", quota_exhausted=True)
    response = faults.apply_faults("openai", request_)
    assert body(response)["error"]["code"] == "insufficient_quota"
    assert body(response)["error"]["type"] == "insufficient_quota"
    assert response["x-should-retry"] == "false"


def test_timeout_holds_the_request_then_answers_504(request_, settings):
    settings.SANDBOX_TIMEOUT_SECONDS = 0.2
    faults.set_faults("tts", timeout_rate=1.0)
    started = time.monotonic()
    response = faults.apply_faults("tts", request_)
    assert time.monotonic() - started >= 0.2
    assert response.status_code == 504


def test_latency_delays_but_does_not_fail(request_):
    faults.set_faults("openai", latency_ms=150)
    started = time.monotonic()
    assert faults.apply_faults("openai", request_) is None
    assert time.monotonic() - started >= 0.15


def test_accept_then_timeout_records_then_times_out_on_platform_posts(request_, settings):
    settings.SANDBOX_TIMEOUT_SECONDS = 0.1
    faults.set_faults("tiktok", accept_then_timeout_rate=1.0)
    accepted = []
    response = faults.apply_faults("tiktok", request_, on_accept=lambda: accepted.append(True))
    assert accepted == [True]
    assert response.status_code == 504
    # Other platform calls (status reads) are not post creations: the fault does not apply.
    assert faults.apply_faults("tiktok", request_) is None


def test_lost_answers_on_posts_only_spares_chunk_uploads(request_, settings):
    settings.SANDBOX_TIMEOUT_SECONDS = 0.1
    faults.set_faults("x", accept_then_timeout_rate=1.0, lost_answers_on_posts_only=True)
    stored, posted = [], []
    assert faults.apply_faults("x", request_, on_accept=lambda: stored.append(True), upload=True) is None
    assert stored == []  # the chunk is the view's to store, answered normally
    assert faults.apply_faults("x", request_, on_accept=lambda: posted.append(True)).status_code == 504
    assert posted == [True]
    faults.set_faults("x", lost_answers_on_posts_only=False)
    assert faults.apply_faults("x", request_, on_accept=lambda: stored.append(True), upload=True).status_code == 504
    assert stored == [True]


def test_accept_then_timeout_is_a_plain_timeout_elsewhere(request_, settings):
    settings.SANDBOX_TIMEOUT_SECONDS = 0.1
    faults.set_faults("render", accept_then_timeout_rate=1.0)
    assert faults.apply_faults("render", request_).status_code == 504


def test_rates_stack_on_one_draw(request_, monkeypatch):
    faults.set_faults("youtube", rate_limit_rate=0.2, error_rate=0.3)
    monkeypatch.setattr(inject.random, "random", lambda: 0.1)
    assert faults.apply_faults("youtube", request_).status_code == 429
    monkeypatch.setattr(inject.random, "random", lambda: 0.45)
    assert faults.apply_faults("youtube", request_).status_code == 500
    monkeypatch.setattr(inject.random, "random", lambda: 0.55)
    assert faults.apply_faults("youtube", request_) is None
    assert faults.fault_counts("youtube") == {"rate_limit": 1, "error": 1}
    assert faults.call_count("youtube") == 3


def test_fractional_rates_fire_roughly_that_often(request_):
    faults.set_faults("instagram", error_rate=0.3)
    statuses = [getattr(faults.apply_faults("instagram", request_), "status_code", 200) for _ in range(400)]
    assert 70 <= statuses.count(500) <= 170
