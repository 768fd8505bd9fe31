"""Evaluators: the Python logic behind checks, registered by name.

A check in ``checks/*.yaml`` names its evaluator; the evaluator is a pure function of the context
(snapshot + request path + settings + probe results) and returns an Outcome. Evaluators never call AWS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from shine_ops.engine.finding import Outcome
from shine_ops.topology.path import RequestPath
from shine_ops.topology.snapshot import Snapshot


@dataclass
class Settings:
    """The target's expectations (from shine-ops.yaml or options; defaults as the contract says)."""

    health_path: str = "/health"
    service_paths: list[str] = field(default_factory=lambda: ["/health", "/api/*"])
    startup_budget_s: int = 60
    latency_budget_s: int = 30
    frontend_origins: list[str] = field(default_factory=list)
    serves_reference_api: bool = False  # opt-in: only then do probes post images to the service
    declared: dict = field(default_factory=dict)  # the intended wiring (shine-ops.yaml `declared:`), for drift


@dataclass
class Context:
    snapshot: Snapshot
    path: RequestPath
    settings: Settings = field(default_factory=Settings)
    probes: dict[str, Any] = field(default_factory=dict)


EvaluatorFn = Callable[[Context, dict], Outcome]


@dataclass
class Evaluator:
    name: str
    fn: EvaluatorFn
    needs: frozenset[str]
    hop: str
    doc: str


REGISTRY: dict[str, Evaluator] = {}


def evaluator(name: str, *, needs: set[str] | frozenset[str] = frozenset(), hop: str = "") -> Callable[[EvaluatorFn], EvaluatorFn]:
    """Register ``fn`` as the evaluator ``name``; ``needs`` lists the snapshot areas it reads."""

    def deco(fn: EvaluatorFn) -> EvaluatorFn:
        REGISTRY[name] = Evaluator(name=name, fn=fn, needs=frozenset(needs), hop=hop or name.split(".")[0],
                                   doc=(fn.__doc__ or "").strip())
        return fn

    return deco


def load_builtin() -> dict[str, Evaluator]:
    """Import the built-in evaluator modules (each registers itself) and return the registry."""
    from shine_ops.evaluators import alb, dns, drift, ecs, generic, hygiene, listener, network, smoke, targetgroup  # noqa: F401

    return REGISTRY


def skip(summary: str, **kw: Any) -> Outcome:
    return Outcome("skip", summary, **kw)
