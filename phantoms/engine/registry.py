"""Stages by name. Apps register theirs from AppConfig.ready(); the engine asks here, never imports them.

The shape of allauth's provider registry: one place that knows what exists, filled by the apps
that provide it. Three kinds of entries:

- stages (`register_stage`): a StageHandler, found by its name by the job function, the reconciler,
  dead-letter requeue and the status selectors;
- tracked models (`track`): the rows that move through stages, by the key that status and the
  reconciler report them under ("assets", "publications", ...);
- repairs (`register_repair`): extra reconciler passes an app needs (e.g. settling an asset whose
  publications all finished while its own commit was lost).
"""

from collections.abc import Callable

from .handler import StageHandler


class UnknownStage(KeyError):
    def __str__(self):
        return f"no stage is registered as {self.args[0]!r}; registered: {', '.join(stage_names())}"


_stages: dict[str, StageHandler] = {}
_tracked: dict[str, type] = {}
_repairs: dict[str, Callable[[], int]] = {}


def register_stage(*handlers: StageHandler) -> None:
    for handler in handlers:
        if not handler.name or not handler.queue or handler.model is None:
            raise ValueError(f"{type(handler).__name__} needs a name, a queue and a model to be registered")
        existing = _stages.get(handler.name)
        if existing is not None and type(existing) is not type(handler):
            raise ValueError(f"stage {handler.name!r} is already registered by {type(existing).__name__}")
        _stages[handler.name] = handler


def unregister_stage(name: str) -> None:
    _stages.pop(name, None)


def get_stage(name: str) -> StageHandler:
    try:
        return _stages[name]
    except KeyError:
        raise UnknownStage(name) from None


def stage_names() -> list[str]:
    return list(_stages)


def all_stages() -> list[StageHandler]:
    return list(_stages.values())


def stage_queues() -> list[str]:
    return list(dict.fromkeys(stage.queue for stage in _stages.values()))


def track(key: str, model) -> None:
    _tracked[key] = model


def tracked_models() -> dict[str, type]:
    return dict(_tracked)


def tracked_key(model) -> str:
    for key, tracked in _tracked.items():
        if tracked is model:
            return key
    return model._meta.model_name


def register_repair(name: str, repair: Callable[[], int]) -> None:
    _repairs[name] = repair


def repairs() -> dict[str, Callable[[], int]]:
    return dict(_repairs)


_platform_sources: list[Callable[[], list[str]]] = []


def register_platforms(source: Callable[[], list[str]]) -> None:
    """An app that publishes says which platform names its stages record on dead letters and attempts."""
    _platform_sources.append(source)


def platform_names() -> list[str]:
    return list(dict.fromkeys(name for source in _platform_sources for name in source()))
