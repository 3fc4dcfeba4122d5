"""The real adapters end to end against the sandbox over HTTP, on real queues: brief to awaiting_review."""

import hashlib
from pathlib import Path

import pytest

from pipeline.media.ffmpeg import probe
from pipeline.models import Asset, PromptTemplate
from pipeline.script_format import Script
from pipeline.services.briefs import submit_brief
from sandbox.models import SandboxRender
from tests.helpers import drain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

PROVIDERS = {"script": "openai", "voice": "openai", "render": "remote"}


def test_openai_script_and_voice_and_remote_render_reach_review(sandbox, settings):
    # Polls this far apart cannot finish inside the drain below: only the callback can.
    settings.RENDER_POLL_INTERVAL = 120
    settings.RENDER_POLL_MAX_INTERVAL = 120
    template = PromptTemplate.objects.create(name="house", version=3, system_prompt="Write like a coach.",
                                             style_guide="Short sentences.", model="gpt-4o-mini", temperature=0.3)
    asset, _ = submit_brief(brief="Why cold brew tastes smoother than hot coffee", target_duration_seconds=5,
                            providers=PROVIDERS)

    assert drain(lambda: Asset.objects.get(pk=asset.pk).state in ("awaiting_review", "failed"), timeout=60)

    asset.refresh_from_db()
    assert asset.state == Asset.State.AWAITING_REVIEW, asset.last_error
    assert (asset.script_provider, asset.script_model, asset.prompt_template) == ("openai", "gpt-4o-mini", template)
    script_usage = asset.usage["script"]
    assert script_usage["input_tokens"] > 0 and script_usage["output_tokens"] > 0 and script_usage["cost_usd"] > 0
    assert asset.script["target_duration_seconds"] == 5

    assert asset.voice_provider.startswith("openai:") and asset.audio_duration > 1
    # Timed by transcribing the speech: the script's words, at the times the sandbox really spoke them.
    assert asset.word_timings_source == "transcription"
    assert [t["word"] for t in asset.word_timings] == Script.model_validate(asset.script).narration_text().split()
    assert asset.word_timings[-1]["end"] <= asset.audio_duration
    voice_usage = asset.usage["voice"]
    assert voice_usage["model"] == "gpt-4o-mini-tts" and voice_usage["cost_usd"] > 0
    assert voice_usage["transcription"]["model"] == "whisper-1" and voice_usage["transcription"]["cost_usd"] > 0
    assert voice_usage["transcription"]["matched"] == 1.0

    render = SandboxRender.objects.get()
    assert asset.render_provider == "remote" and asset.render_remote_id == render.render_id
    assert render.callback_status == "200"  # the callback, not a poll, finished it
    assert asset.render_spec["remote"]["status"] == "done"
    video = Path(asset.video.path)
    assert asset.video_sha256 == hashlib.sha256(video.read_bytes()).hexdigest()
    assert asset.render_spec["remote"]["sha256"] == asset.video_sha256
    info = probe(video)
    assert (info.width, info.height) == (1080, 1920)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert info.duration == pytest.approx(asset.audio_duration, abs=0.2)
    outcomes = list(asset.stage_attempts.filter(stage="render").values_list("outcome", flat=True))
    assert outcomes == ["not_ready", "succeeded"]
