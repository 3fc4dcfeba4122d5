"""Which voice narrates, said out loud; silence only when chosen."""

import pytest

from phantoms.resilience.errors import ConfigurationError
from pipeline.media import voice as voice_module
from pipeline.models import Asset
from pipeline.providers import describe_voice, selectable
from pipeline.services.briefs import BriefError, submit_brief, validate_providers
from pipeline.stages import STAGES
from tests.factories import make_asset


def test_the_demo_names_its_voice(settings):
    settings.VOICE_PROVIDER = "offline"
    line = describe_voice()
    assert line.startswith("offline: eSpeak NG, voice en-us") and "words/s" in line
    assert describe_voice("silence") == "silence: silence (benchmarks only: nothing is heard)"
    settings.OPENAI_TRANSCRIBE_MODEL = "whisper-1"
    assert "timed by whisper-1 transcription" in describe_voice("openai")


def test_the_demo_says_when_no_voice_can_be_loaded(monkeypatch):
    def missing():
        raise ConfigurationError("no eSpeak NG: install the espeakng-loader package", provider="espeak-ng")

    monkeypatch.setattr(voice_module, "espeak", missing)
    assert describe_voice("offline") == "offline: none: no eSpeak NG: install the espeakng-loader package"


@pytest.mark.django_db(transaction=True)
def test_without_an_engine_the_voice_stage_fails_clearly_instead_of_going_silent(settings, tmp_path, monkeypatch):
    from phantoms.engine import runner

    settings.MEDIA_ROOT = str(tmp_path)
    settings.RATE_LIMITS = {}

    def missing():
        raise ConfigurationError("no eSpeak NG: install the espeakng-loader package", provider="espeak-ng")

    monkeypatch.setattr(voice_module, "espeak", missing)
    voice_module.measured_words_per_second.cache_clear()
    asset = make_asset(Asset.State.SCRIPTING, target_duration_seconds=10)
    assert runner.run(STAGES["script"], asset.pk) == "succeeded"  # the script is written at a default pace

    assert runner.run(STAGES["voice"], asset.pk) == "dead_lettered"

    asset.refresh_from_db()
    assert asset.state == Asset.State.FAILED and asset.failed_stage == "voice"
    assert "install the espeakng-loader package" in asset.dead_letters.get().error_message
    assert not asset.audio
    voice_module.measured_words_per_second.cache_clear()


@pytest.mark.parametrize("stage,name", [("voice", "silence"), ("render", "instant")])
def test_benchmark_only_providers_are_refused_per_asset_naming_the_field(settings, stage, name):
    settings.BENCHMARK_PROVIDERS = False
    assert name not in selectable(stage)
    with pytest.raises(BriefError) as caught:
        validate_providers({stage: name})
    assert caught.value.field == f"providers.{stage}"
    assert "benchmarks only" in caught.value.problem and "chosen by setting" in caught.value.problem


@pytest.mark.django_db
def test_the_brief_service_refuses_them_and_stores_nothing(settings):
    settings.BENCHMARK_PROVIDERS = False
    with pytest.raises(BriefError):
        submit_brief(brief="Anything", providers={"voice": "silence"})
    assert not Asset.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_by_setting_the_silent_voice_still_runs_for_benchmarks(settings, tmp_path):
    from phantoms.engine import runner

    settings.MEDIA_ROOT = str(tmp_path)
    settings.RATE_LIMITS = {}
    settings.VOICE_PROVIDER = "silence"
    asset = make_asset(Asset.State.VOICING, target_duration_seconds=5,
                       script={"title": "t", "hook": "Hello there.", "beats": [{"on_screen": "a", "narration": "b c"}],
                               "caption_lines": ["Hello there. b c"], "description": "", "hashtags": [],
                               "target_duration_seconds": 5})
    assert runner.run(STAGES["voice"], asset.pk) == "succeeded"
    asset.refresh_from_db()
    assert asset.voice_provider == "silence:silence" and asset.word_timings_source == "estimated"
