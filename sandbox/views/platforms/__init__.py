"""The sandbox's platforms: each registered platform's real API under /sandbox/platforms/<name>/.

A platform with a module here (`sandbox/views/platforms/<name>.py` defining `urlpatterns`) is served
its documented paths (or register_module() names the module that serves it). Dispatch happens per
request, so a platform registered later (a test's fake fifth platform) is served too
(docs/platforms.md, "The sandbox side").
"""

import importlib
from types import ModuleType

from django.http import Http404
from django.urls import Resolver404
from django.urls.resolvers import RegexPattern, URLResolver
from django.views.decorators.csrf import csrf_exempt

from publishing import platforms

_modules: dict[str, ModuleType | object] = {}
_resolvers: dict[str, URLResolver] = {}


def register_module(name: str, module) -> None:
    """Serve `name` with `module.urlpatterns` (a platform whose sandbox module is not at the usual path)."""
    _modules[name] = module
    _resolvers.pop(name, None)


def module_for(name: str):
    if name not in _modules:
        try:
            _modules[name] = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            _modules[name] = None
    return _modules[name]


def speaks_own_protocol(name: str) -> bool:
    module = module_for(name)
    return module is not None and hasattr(module, "urlpatterns")


def _resolver(name: str) -> URLResolver:
    if name not in _resolvers:
        _resolvers[name] = URLResolver(RegexPattern(r"^"), module_for(name))
    return _resolvers[name]


@csrf_exempt
def dispatch(request, platform: str, rest: str):
    if platform not in platforms.names() or not speaks_own_protocol(platform):
        raise Http404(f"no sandbox platform {platform!r} speaks its own protocol")
    try:
        match = _resolver(platform).resolve(rest)
    except Resolver404:
        raise Http404(f"{platform}: no such path {rest!r}")
    request.sandbox_platform = platform
    return match.func(request, *match.args, **match.kwargs)
