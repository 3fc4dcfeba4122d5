"""The offline visuals draw a stage's clips a few at a time: all complete, in beat order, and a
failure or a stopped job leaves no ffmpeg running and no partial file behind."""

import signal
import threading
import time
from pathlib import Path

import pytest

from phantoms.engine import runner
from phantoms.engine.models import DeadLetter
from phantoms.resilience.errors import PermanentError
from pipeline.media import motion
from pipeline.media.ffmpeg import Cancelled, probe, run_ffmpeg
from pipeline.models import Asset
from pipeline.providers.visuals import offline
from pipeline.stages import STAGES, beat_requests

from .test_visuals_stage import fast, visualizing_asset  # noqa: F401  (fast is a fixture)

VISUALS = STAGES["visuals"]
FIVE = ("ocean waves", "city night", "mountain sunrise", "forest path", "desert road")


def leftovers(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.partial*"))


def clip_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("motion-clip")]


@pytest.fixture
def counted(monkeypatch):
    """make_motion_clip as the provider calls it, counting how many run at once."""
    real = offline.make_motion_clip
    state = {"running": 0, "peak": 0, "order": []}
    lock = threading.Lock()

    def counting(path, *args, **kwargs):
        with lock:
            state["running"] += 1
            state["peak"] = max(state["peak"], state["running"])
            state["order"].append(Path(path).name)
        try:
            return real(path, *args, **kwargs)
        finally:
            with lock:
                state["running"] -= 1

    monkeypatch.setattr(offline, "make_motion_clip", counting)
    return state


@pytest.mark.django_db(transaction=True)
def test_clips_are_made_two_at_a_time_all_complete_and_in_beat_order(fast, counted):  # noqa: F811
    fast.VISUALS_OFFLINE_PARALLEL = 2
    asset = visualizing_asset(fast.MEDIA_ROOT, seconds=8.0, queries=FIVE)

    assert runner.run(VISUALS, asset.pk) == "succeeded", Asset.objects.get(pk=asset.pk).last_error

    asset.refresh_from_db()
    assert counted["peak"] == 2 and len(counted["order"]) == 5
    assert [v["beat"] for v in asset.visuals] == [0, 1, 2, 3, 4]
    assert [v["query"] for v in asset.visuals] == list(FIVE)
    assert all(a["end"] == b["start"] for a, b in zip(asset.visuals, asset.visuals[1:], strict=False))
    for visual in asset.visuals:
        path = Path(fast.MEDIA_ROOT) / visual["path"]
        assert path.name == f"beat-{visual['beat']}.mp4"
        info = probe(path)
        assert (info.width, info.height, info.video_codec) == (180, 320, "h264")
        assert info.duration >= visual["end"] - visual["start"]
    assert not leftovers(Path(fast.MEDIA_ROOT)) and not clip_threads()


@pytest.mark.django_db(transaction=True)
def test_one_at_a_time_when_the_setting_says_so(fast, counted):  # noqa: F811
    fast.VISUALS_OFFLINE_PARALLEL = 1
    asset = visualizing_asset(fast.MEDIA_ROOT)
    assert runner.run(VISUALS, asset.pk) == "succeeded"
    assert counted["peak"] == 1
    assert counted["order"] == ["beat-0.mp4", "beat-1.mp4", "beat-2.mp4"]


@pytest.mark.django_db(transaction=True)
def test_a_failing_beat_is_classified_as_before_and_stops_the_others(fast, monkeypatch):  # noqa: F811
    fast.VISUALS_OFFLINE_PARALLEL = 2
    real = offline.make_motion_clip
    started = threading.Event()

    def failing(path, plan, seconds, **kwargs):
        if Path(path).name == "beat-1.mp4":
            started.wait(5)  # beat 0's ffmpeg is running: it has to be stopped
            time.sleep(0.3)
            raise PermanentError("ffmpeg exited with status 1: a bad graph", provider="ffmpeg")
        started.set()
        return real(path, plan, 30.0, **kwargs)  # long enough to be still running when beat 1 fails

    monkeypatch.setattr(offline, "make_motion_clip", failing)
    asset = visualizing_asset(fast.MEDIA_ROOT, queries=FIVE)

    began = time.monotonic()
    assert runner.run(VISUALS, asset.pk) == "dead_lettered"
    assert time.monotonic() - began < 20, "the long clip was not stopped"

    assert "a bad graph" in DeadLetter.objects.get(asset=asset).error_message
    folder = Path(fast.MEDIA_ROOT) / "assets" / str(asset.pk) / "visuals"
    assert not leftovers(folder) and not clip_threads()
    # Nothing unfinished is on disk under a clip's name.
    for clip in folder.glob("beat-*.mp4"):
        assert (folder / f"{clip.stem}.json").is_file()


@pytest.mark.django_db(transaction=True)
def test_a_job_timeout_while_waiting_stops_the_running_clips(fast):  # noqa: F811
    """rq stops a job that overruns by raising in the main thread from SIGALRM."""
    fast.VISUALS_OFFLINE_PARALLEL = 2
    fast.RENDER_TRANSITION_SECONDS = 40.0  # every clip 40 s longer than its beat: none finishes in time
    asset = visualizing_asset(fast.MEDIA_ROOT, queries=FIVE)
    folder = Path(fast.MEDIA_ROOT) / "visuals-timeout"

    class JobTimeout(Exception):
        pass

    def alarm(*_):
        raise JobTimeout("job exceeded its timeout")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    began = time.monotonic()
    try:
        with pytest.raises(JobTimeout):
            VISUALS.provider(asset).fetch(asset, beat_requests(asset), folder, theme="dusk")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - began < 5
    assert not clip_threads() and not leftovers(folder)
    assert not list(folder.glob("beat-*.mp4"))


def test_a_cancelled_clip_stops_quickly_and_leaves_nothing(tmp_path):
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    plan = motion.MotionPlan("aurora", motion.THEMES["dusk"], 7)
    began = time.monotonic()
    with pytest.raises(Cancelled):
        motion.make_motion_clip(tmp_path / "long.mp4", plan, 120.0, size="180x320", cancel=cancel)
    assert time.monotonic() - began < 5
    assert not list(tmp_path.iterdir())
    with pytest.raises(Cancelled, match="not started"):
        run_ffmpeg(["-f", "lavfi", "-i", "color=s=64x64", "-t", "1", "-f", "null", "-"], timeout=10, cancel=cancel)
