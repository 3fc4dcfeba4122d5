"""The visuals stage through the runner: each provider, what it stores, and how its failures are classified."""

from datetime import timedelta
from pathlib import Path

import django_rq
import pytest
from django.utils import timezone

from phantoms.engine import runner
from phantoms.engine.models import DeadLetter, StageAttempt
from phantoms.resilience import ratelimit
from phantoms.resilience.breakers import forget_breakers, get_breaker
from pipeline.media.ffmpeg import probe
from pipeline.media.voice import estimate_word_timings, write_silence
from pipeline.models import Asset
from pipeline.script_format import Beat, Script
from pipeline.stages import STAGES
from sandbox import faults
from tests.factories import make_asset

VISUALS = STAGES["visuals"]


def script(queries=("ocean waves", "city night", "mountain sunrise")) -> Script:
    beats = [Beat(on_screen=f"{i + 1}. {q.title()}", narration=f"Here is a thought about {q} worth keeping.",
                  visual_query=q) for i, q in enumerate(queries)]
    return Script(title="Three scenes", hook="Look at this.", beats=beats, caption_lines=["Look at this."],
                  description="d", hashtags=["#x"], target_duration_seconds=10)


def visualizing_asset(media_root, *, providers=None, seconds=6.0, queries=("ocean waves", "city night",
                                                                           "mountain sunrise"), **fields):
    asset = make_asset(Asset.State.VISUALIZING, providers=providers or {}, **fields)
    folder = Path(media_root) / "assets" / str(asset.pk)
    folder.mkdir(parents=True, exist_ok=True)
    duration = write_silence(folder / "voice.wav", seconds)
    written = script(queries)
    Asset.objects.filter(pk=asset.pk).update(
        script=written.model_dump(), title=written.title, audio=f"assets/{asset.pk}/voice.wav",
        audio_duration=duration, word_timings=estimate_word_timings(written.narration_text(), duration))
    asset.refresh_from_db()
    return asset


@pytest.fixture
def fast(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.VISUALS_OFFLINE_SIZE = "180x320"
    settings.PEXELS_MIN_HEIGHT = 640
    settings.STAGE_ATTEMPTS = {**settings.STAGE_ATTEMPTS, "visuals": 2}
    return settings


def attempts(asset) -> list[str]:
    return list(StageAttempt.objects.filter(asset=asset, stage="visuals").values_list("outcome", flat=True))


@pytest.mark.django_db(transaction=True)
class TestOffline:
    def test_a_motion_clip_per_beat_on_its_span_then_render(self, fast):
        asset = visualizing_asset(fast.MEDIA_ROOT)

        assert runner.run(VISUALS, asset.pk) == "succeeded"

        asset.refresh_from_db()
        assert asset.state == Asset.State.RENDERING and asset.visuals_provider == "offline"
        assert [v["beat"] for v in asset.visuals] == [0, 1, 2]
        assert asset.visuals[0]["start"] == 0 and asset.visuals[-1]["end"] == asset.audio_duration
        assert all(a["end"] == b["start"] for a, b in zip(asset.visuals, asset.visuals[1:], strict=False))
        assert [v["query"] for v in asset.visuals] == ["ocean waves", "city night", "mountain sunrise"]
        styles = [v["motion"]["style"] for v in asset.visuals]
        assert len(set(styles)) == 3
        for visual in asset.visuals:
            info = probe(Path(fast.MEDIA_ROOT) / visual["path"])
            assert (info.width, info.height) == (180, 320)
            assert info.duration >= visual["end"] - visual["start"]
        assert asset.job_id  # the render stage is queued
        assert list(asset.transitions.values_list("to_state", flat=True))[-1] == "rendering"

    def test_a_theme_per_asset_and_an_unknown_one_is_a_dead_letter(self, fast):
        themed = visualizing_asset(fast.MEDIA_ROOT, visual_theme="forest")
        assert runner.run(VISUALS, themed.pk) == "succeeded"
        themed.refresh_from_db()
        assert set(themed.visuals[0]["motion"]["palette"]) == {"#0c1f14", "#2e6b3f", "#c8e36b"}

        odd = visualizing_asset(fast.MEDIA_ROOT, visual_theme="neon")
        assert runner.run(VISUALS, odd.pk) == "dead_lettered"
        odd.refresh_from_db()
        assert odd.state == Asset.State.FAILED and odd.failed_stage == "visuals"
        assert "visual_theme: unknown theme 'neon'" in DeadLetter.objects.get(asset=odd).error_message

    def test_plain_puts_no_files_behind_the_beats(self, fast):
        asset = visualizing_asset(fast.MEDIA_ROOT, providers={"visuals": "plain"})
        assert runner.run(VISUALS, asset.pk) == "succeeded"
        asset.refresh_from_db()
        assert asset.visuals == [] and asset.state == Asset.State.RENDERING

    def test_with_plain_visuals_the_voice_hands_straight_to_the_render(self, fast):
        asset = make_asset(Asset.State.VOICING, providers={"visuals": "plain"})
        Asset.objects.filter(pk=asset.pk).update(script=script().model_dump(), title="Three scenes")

        assert runner.run(STAGES["voice"], asset.pk) == "succeeded"

        asset.refresh_from_db()
        assert asset.state == Asset.State.RENDERING and asset.visuals_provider == "plain"
        assert list(asset.transitions.values_list("to_state", flat=True))[-2:] == ["visualizing", "rendering"]
        assert django_rq.get_queue("render").count == 1 and django_rq.get_queue("visuals").count == 0
        assert attempts(asset) == []  # no visuals job ran

    def test_a_retry_reuses_the_beats_already_made(self, fast):
        asset = visualizing_asset(fast.MEDIA_ROOT)
        assert runner.run(VISUALS, asset.pk) == "succeeded"
        asset.refresh_from_db()
        clip = Path(fast.MEDIA_ROOT) / asset.visuals[1]["path"]
        made = clip.stat().st_mtime_ns
        again = VISUALS.provider(asset).fetch(asset, __import__("pipeline.stages").stages.beat_requests(asset),
                                              clip.parent, theme="dusk")
        assert clip.stat().st_mtime_ns == made and str(clip) == again.visuals[1]["path"]


@pytest.mark.django_db(transaction=True)
class TestPexels:
    def test_stock_video_per_beat_distinct_downloaded_and_credited(self, sandbox, fast):
        asset = visualizing_asset(fast.MEDIA_ROOT, providers={"visuals": "pexels"})

        assert runner.run(VISUALS, asset.pk) == "succeeded", Asset.objects.get(pk=asset.pk).last_error

        asset.refresh_from_db()
        assert asset.visuals_provider == "pexels" and len(asset.visuals) == 3
        ids = [v["source"]["id"] for v in asset.visuals]
        assert len(set(ids)) == 3
        for visual in asset.visuals:
            info = probe(Path(fast.MEDIA_ROOT) / visual["path"])
            assert info.height >= 640 and info.height > info.width  # portrait, as asked
            assert visual["source"]["duration"] >= 5
            credit = visual["attribution"]
            assert credit["text"] == f"Video by {credit['author']} on Pexels"
            assert credit["source_url"].startswith("https://www.pexels.com/video/")
            assert credit["author_url"].startswith("https://www.pexels.com/@")

    def test_a_query_with_no_results_gets_a_motion_background_and_says_why(self, sandbox, fast):
        asset = visualizing_asset(fast.MEDIA_ROOT, providers={"visuals": "pexels"},
                                  queries=("ocean waves", "noresults here", "city night"))
        assert runner.run(VISUALS, asset.pk) == "succeeded"
        asset.refresh_from_db()
        assert [v["provider"] for v in asset.visuals] == ["pexels", "offline", "pexels"]
        assert "no Pexels video for 'noresults here'" in asset.visuals[1]["fallback_reason"]

    def test_a_429_is_deferred_until_the_reset_not_an_attempt(self, sandbox, fast):
        faults.set_faults("pexels", rate_limit_rate=1.0, retry_after=40)
        asset = visualizing_asset(fast.MEDIA_ROOT, providers={"visuals": "pexels"})

        assert runner.run(VISUALS, asset.pk) == "rate_limited"

        asset.refresh_from_db()
        assert asset.state == Asset.State.VISUALIZING and asset.attempts == 0
        assert timedelta(seconds=35) < asset.next_run_at - timezone.now() < timedelta(seconds=45)
        assert attempts(asset) == ["rate_limited"]
        assert get_breaker("pexels").status().fail_counter == 0

    def test_a_refused_key_is_permanent_at_once(self, sandbox, fast):
        fast.PEXELS_API_KEY = "invalid-key"
        asset = visualizing_asset(fast.MEDIA_ROOT, providers={"visuals": "pexels"})

        assert runner.run(VISUALS, asset.pk) == "dead_lettered"

        asset.refresh_from_db()
        letter = DeadLetter.objects.get(asset=asset)
        assert asset.state == Asset.State.FAILED and asset.failed_stage == "visuals"
        assert (letter.stage, letter.queue, letter.error_class) == ("visuals", "visuals", "permanent")
        assert "HTTP 401" in letter.error_message and "valid API key" in letter.error_message

    def test_server_errors_are_retried_and_open_the_pexels_breaker_which_then_defers(self, sandbox, fast):
        fast.BREAKERS = {**fast.BREAKERS, "pexels": {"fail_max": 2, "reset_timeout": 60, "success_threshold": 1}}
        forget_breakers()
        faults.set_faults("pexels", error_rate=1.0)
        asset = visualizing_asset(fast.MEDIA_ROOT, providers={"visuals": "pexels"})

        outcomes = []
        for _ in range(3):
            outcomes.append(runner.run(VISUALS, asset.pk))
            Asset.objects.filter(pk=asset.pk).update(next_run_at=None)

        assert outcomes == ["retrying", "retrying", "breaker_open"]
        assert attempts(asset) == ["transient", "transient", "breaker_open"]
        assert get_breaker("pexels").status().state == "open"
        asset.refresh_from_db()
        assert asset.state == Asset.State.VISUALIZING and asset.attempts == 2  # the open breaker charges nothing
        assert faults.call_count("pexels") == 2  # and keeps the stage away from Pexels

    def test_each_search_takes_a_token_and_a_retry_does_not_search_again(self, sandbox, fast):
        fast.RATE_LIMITS = {"pexels": (2, 3600)}
        ratelimit.reset("pexels")
        asset = visualizing_asset(fast.MEDIA_ROOT, providers={"visuals": "pexels"})

        # The stage's token and one more search: the third beat's search waits for the bucket.
        assert runner.run(VISUALS, asset.pk) == "rate_limited"
        assert faults.call_count("pexels") >= 2
        searches = faults.call_count("pexels")

        ratelimit.reset("pexels")
        fast.RATE_LIMITS = {"pexels": (10, 3600)}
        Asset.objects.filter(pk=asset.pk).update(next_run_at=None)
        assert runner.run(VISUALS, asset.pk) == "succeeded"
        asset.refresh_from_db()
        assert len({v["source"]["id"] for v in asset.visuals}) == 3
        # Only the last beat was searched (and downloaded) again.
        assert faults.call_count("pexels") - searches == 2


@pytest.mark.django_db(transaction=True)
class TestOpenAIImages:
    def test_an_image_per_beat_with_spend_recorded(self, sandbox, fast):
        fast.OPENAI_IMAGE_QUALITY = "low"
        asset = visualizing_asset(fast.MEDIA_ROOT, providers={"visuals": "openai"})

        assert runner.run(VISUALS, asset.pk) == "succeeded"

        asset.refresh_from_db()
        assert [v["kind"] for v in asset.visuals] == ["image"] * 3
        for visual in asset.visuals:
            info = probe(Path(fast.MEDIA_ROOT) / visual["path"])
            assert (info.width, info.height) == (1024, 1536)
            assert visual["prompt"].startswith(visual["query"]) and "No text" in visual["prompt"]
        spend = asset.usage["images"]
        assert spend["model"] == "gpt-image-1" and spend["images"] == 3
        assert spend["output_tokens"] == 3 * 408
        assert spend["cost_usd"] == pytest.approx((spend["input_tokens"] * 5 + spend["output_tokens"] * 40) / 1e6)

    def test_an_empty_quota_is_permanent(self, sandbox, fast):
        faults.set_faults("images", rate_limit_rate=1.0, quota_exhausted=True)
        asset = visualizing_asset(fast.MEDIA_ROOT, providers={"visuals": "openai"})
        assert runner.run(VISUALS, asset.pk) == "dead_lettered"
        assert "quota exhausted" in DeadLetter.objects.get(asset=asset).error_message

    def test_a_size_the_model_refuses_is_permanent_with_the_apis_message(self, sandbox, fast):
        fast.OPENAI_IMAGE_SIZE = "1024x1792"
        asset = visualizing_asset(fast.MEDIA_ROOT, providers={"visuals": "openai"})
        assert runner.run(VISUALS, asset.pk) == "dead_lettered"
        letter = DeadLetter.objects.get(asset=asset)
        assert letter.error_class == "permanent" and "Invalid value for 'size'" in letter.error_message

    def test_a_rate_limit_is_deferred(self, sandbox, fast):
        faults.set_faults("images", rate_limit_rate=1.0, retry_after=20)
        asset = visualizing_asset(fast.MEDIA_ROOT, providers={"visuals": "openai"})
        assert runner.run(VISUALS, asset.pk) == "rate_limited"
        asset.refresh_from_db()
        assert asset.attempts == 0 and asset.state == Asset.State.VISUALIZING
