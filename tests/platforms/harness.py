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


def request_for(video: Path, store: Store, *, title="A title", description="A description", hashtags=("#tips",)):
    return PublishRequest(video=video, copy=Copy(title=title, description=description, hashtags=list(hashtags)),
                          handles=store.handles(), key="k")


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
        except NotReady:
            failures.append("not_ready")
            time.sleep(pause)
        except (TransientError, UnknownOutcome, Crash) as exc:
            failures.append(type(exc).__name__)
            if request.handles.uncertain:
                return Outcome(None, run, True, failures)
    raise AssertionError(f"no outcome after {max_runs} runs: {failures[-10:]}")
