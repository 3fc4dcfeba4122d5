"""Fault injection for the sandbox services, shared through Redis (docs/architecture.md, "Rooms": `sandbox/`).

- `store`: what faults are set per target, and the call and fired counters (Redis);
- `responses`: faulted answers in each service's documented shapes, per platform where it registers one;
- `inject`: `apply_faults`, which every sandbox view calls before answering.
"""

from sandbox.faults.inject import apply_faults
from sandbox.faults.responses import OPENAI_TARGETS, error_response, register_platform
from sandbox.faults.store import (
    DEFAULT_KEY_PREFIX,
    DEFAULTS,
    SERVICE_TARGETS,
    all_faults,
    call_count,
    clear_faults,
    connection,
    count_call,
    describe,
    fault_counts,
    get_faults,
    key,
    platform_targets,
    reset_call_counts,
    set_faults,
    targets,
)

__all__ = [
    "DEFAULT_KEY_PREFIX",
    "DEFAULTS", "OPENAI_TARGETS", "SERVICE_TARGETS", "all_faults", "apply_faults", "call_count", "clear_faults",
    "connection", "count_call", "describe", "error_response", "fault_counts", "get_faults", "key",
    "platform_targets", "register_platform", "reset_call_counts", "set_faults", "targets",
]


def __getattr__(name: str):
    # `faults.TARGETS` / `faults.PLATFORMS` follow the platform list, including one registered later.
    if name == "TARGETS":
        return targets()
    if name == "PLATFORMS":
        return platform_targets()
    raise AttributeError(name)
