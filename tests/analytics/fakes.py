"""A platform adapter's metrics side, in-process: what publishing.platforms' adapters offer analytics."""

from dataclasses import dataclass, field


@dataclass
class Reading:
    values: dict
    gone: bool = False


@dataclass
class FakeMetricsAdapter:
    """Answers read_metrics from `figures` ({post_id: values}); `gone` ids are reported deleted."""

    metrics_batch: int = 50
    figures: dict = field(default_factory=dict)
    gone: set = field(default_factory=set)
    calls: list = field(default_factory=list)
    error: Exception | None = None

    def read_metrics(self, post_ids):
        self.calls.append(list(post_ids))
        if self.error is not None:
            raise self.error
        answer = {}
        for post_id in post_ids:
            if post_id in self.gone:
                answer[post_id] = Reading({}, gone=True)
            elif post_id in self.figures:
                answer[post_id] = Reading(dict(self.figures[post_id]))
        return answer


def use_adapter(monkeypatch, adapter):
    monkeypatch.setattr("analytics.stages.metrics_adapter", lambda channel: adapter)
    return adapter
