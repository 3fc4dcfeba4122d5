"""Driving an adapter the way the publish stage does, with faults placed where a test wants them.

- `FaultyTransport` wraps a real transport (loopback HTTP to the live sandbox, or the sandbox's WSGI
  app in-process) and, per request, lets it through, drops it before it reaches the platform (the
  connection broke while sending) or lets the platform act and loses its answer (the read timed out).
- `Store` is the publication's row as far as handles go: `Handles.save()` writes there (its own
  commit), and a `crash` hook can kill the run right after such a commit.
- `publish_until_done` re-runs `publish` as the engine would: again after a transient failure, a lost
  answer or a crash, later after NotReady.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from phantoms.engine.handler import GiveUp
from phantoms.resilience.errors import NotReady, TransientError, UnknownOutcome
from publishing.platforms.base import Copy, Handles, PublishRequest


class Crash(Exception):
    """The worker died right after a commit (SIGKILL, OOM): the next run starts from the row."""


class FaultyTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, decide=None):
        self.inner = inner
        self.decide = decide or (lambda request: None)
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()  # kept whole so a test can look at what was sent (the files are tiny)
        self.requests.append(request)
        fault = self.decide(request)
        if fault == "drop":
            raise httpx.ReadError("connection reset while sending", request=request)
        response = self.inner.handle_request(request)
        if fault == "lose":
            response.read()
            response.close()
            raise httpx.ReadTimeout("the answer never came", request=request)
        return response


@dataclass
class Store:
    values: dict = field(default_factory=dict)
    evidence: list = field(default_factory=list)
    crash: object = None  # callable(values) -> bool: die after this commit

    def handles(self) -> Handles:
        return Handles(dict(self.values), persist=self._persist, evidence=list(self.evidence))

    def _persist(self, values, evidence):
        self.values, self.evidence = dict(values), list(evidence)
        if self.crash is not None and self.crash(values):
            raise Crash("killed after a commit")


def request_for(video: Path, store: Store, *, title="A title", description="A description", hashtags=("#tips",),
                cover_at: float | None = None):
    return PublishRequest(video=video, copy=Copy(title=title, description=description, hashtags=list(hashtags)),
                          handles=store.handles(), key="k", cover_at=cover_at)


@dataclass
class Outcome:
    posted: object
    runs: int
    uncertain: bool
    failures: list


def publish_until_done(adapter, video: Path, store: Store, *, max_runs: int = 60, copy: dict | None = None,
                       pause: float = 0.02) -> Outcome:
    failures = []
    for run in range(1, max_runs + 1):
        request = request_for(video, store, **(copy or {}))
        try:
            return Outcome(adapter.publish(request), run, request.handles.uncertain, failures)
        except GiveUp:
            failures.append("GiveUp")
            return Outcome(None, run, True, failures)
        except NotReady:
            failures.append("not_ready")
            time.sleep(pause)
        except (TransientError, UnknownOutcome, Crash) as exc:
            failures.append(type(exc).__name__)
            if request.handles.uncertain:
                return Outcome(None, run, True, failures)
    raise AssertionError(f"no outcome after {max_runs} runs: {failures[-10:]}")


def run_publish_stage(pk: int, *, stop=("succeeded", "dead_lettered", "needs_attention"), max_runs: int = 40,
                      first_stop: tuple = ()) -> list[str]:
    """Run the publish stage on a publication as its jobs would, until an outcome in `stop` (or `first_stop`)."""
    from phantoms.engine import runner
    from publishing.stages import PUBLISH

    outcomes = []
    for _ in range(max_runs):
        outcomes.append(runner.run(PUBLISH, pk))
        if outcomes[-1] in stop or outcomes[-1] in first_stop:
            return outcomes
        time.sleep(0.02)
    raise AssertionError(f"the publish stage did not finish: {outcomes[-10:]}")


def fetch_signed_links_in_process(monkeypatch):
    """Instagram downloads video_url over the network; in-process there is none, so the sandbox reads the
    signed link through the same resolver the signed-media view uses (signature and expiry still checked)."""
    from phantoms.signed_media import resolve
    from sandbox.views.platforms import instagram

    def fetch(url):
        token, filename = url.split("/signed-media/")[1].split("/")
        return resolve(token, filename).read_bytes(), ""

    monkeypatch.setattr(instagram, "_fetch_video", fetch)
