"""Provider adapters, one module per provider, chosen per environment (settings) or per asset.

Each stage has an offline provider that needs no key and no network, so the whole pipeline runs
on a fresh machine; the real providers sit beside them and are selected by name.
"""

from django.conf import settings
from django.utils.module_loading import import_string

from phantoms.resilience.errors import PermanentError

REGISTRY = {
    "script": {
        "offline": "pipeline.providers.script.offline.TemplateScriptWriter",
        "openai": "pipeline.providers.script.openai.OpenAIScriptWriter",
    },
    "voice": {
        "offline": "pipeline.providers.voice.offline.OfflineVoice",
        "silence": "pipeline.providers.voice.offline.SilenceVoice",
        "openai": "pipeline.providers.voice.openai.OpenAIVoice",
    },
    "visuals": {
        "offline": "pipeline.providers.visuals.offline.MotionVisuals",
        "plain": "pipeline.providers.visuals.offline.PlainVisuals",
        "pexels": "pipeline.providers.visuals.pexels.PexelsVisuals",
        "openai": "pipeline.providers.visuals.openai_images.OpenAIImages",
    },
    "render": {
        "ffmpeg": "pipeline.providers.render.ffmpeg.FfmpegRenderer",
        "instant": "pipeline.providers.render.instant.InstantRenderer",
        "remote": "pipeline.providers.render.remote.RemoteRenderer",
    },
}
DEFAULTS = {"script": "SCRIPT_PROVIDER", "voice": "VOICE_PROVIDER", "visuals": "VISUALS_PROVIDER",
            "render": "RENDER_PROVIDER"}
# Providers that exist to measure the pipeline, not to make videos: nothing is heard, nothing is
# rendered. They are chosen by setting (VOICE_PROVIDER, RENDER_PROVIDER), never per asset through the
# API or the admin unless PHANTOMS_BENCHMARK_PROVIDERS is on.
BENCHMARK_ONLY = {"voice": frozenset({"silence"}), "render": frozenset({"instant"})}


def selectable(stage: str) -> list[str]:
    """The providers an API client or editor may choose for `stage`."""
    hidden = frozenset() if settings.BENCHMARK_PROVIDERS else BENCHMARK_ONLY.get(stage, frozenset())
    return sorted(name for name in REGISTRY.get(stage, {}) if name not in hidden)


def provider_name(stage: str, asset) -> str:
    return (asset.providers or {}).get(stage) or getattr(settings, DEFAULTS[stage])


def get_provider(stage: str, asset):
    name = provider_name(stage, asset)
    try:
        path = REGISTRY[stage][name]
    except KeyError:
        choices = ", ".join(sorted(REGISTRY[stage]))
        raise PermanentError(f"unknown {stage} provider {name!r}; choose one of {choices}")
    return import_string(path)()


def describe_voice(name: str | None = None) -> str:
    """Which voice narrates by default (VOICE_PROVIDER), in one line for people."""
    name = name or settings.VOICE_PROVIDER
    path = REGISTRY["voice"].get(name)
    if path is None:
        return f"{name}: unknown voice provider"
    return f"{name}: {import_string(path)().describe()}"
