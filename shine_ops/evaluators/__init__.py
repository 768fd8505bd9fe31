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
    """The user's declared expectations about one app (shine-ops.yaml, options, or a sandbox scenario).

    ``None`` means *not declared*. No built-in value stands in for an undeclared one: a check then judges from
    the account's evidence, and without evidence says which setting would let it judge (``skip``/``warn``).
    """

    health_path: str | None = None
    service_paths: list[str] | None = None
    startup_budget_s: int | float | None = None
    latency_budget_s: int | float | None = None
    frontend_origins: list[str] | None = None
    serves_reference_api: bool = False  # opt-in: only then do probes post images to the service
    declared: dict = field(default_factory=dict)  # the intended wiring (shine-ops.yaml `declared:`), for drift
    # Set while verifying a fix just applied: target health, reason codes and service events predate the change
    # (health converges over interval x healthy threshold), so checks judge the configuration, not that evidence.
    settling: bool = False

    def declared_names(self) -> list[str]:
        """The expectation settings the user declared (for reports: what was judged against what)."""
        return [k for k in ("health_path", "service_paths", "startup_budget_s", "latency_budget_s",
                            "frontend_origins") if getattr(self, k) is not None]


@dataclass
class Context:
    snapshot: Snapshot
    path: RequestPath
    settings: Settings = field(default_factory=Settings)
    probes: dict[str, Any] = field(default_factory=dict)


EvaluatorFn = Callable[[Context, dict], Outcome]

# The hops a check can judge, in request-path order. The report's ``path``, the diagram, ``watch`` and the
# table/HTML renderers group findings by them; ``app`` is the live service (probes), ``account`` the whole
# account and region (the tortoise audit).
HOPS = ("dns", "load_balancer", "listener", "target_group", "targets", "service", "task_definition", "network",
        "app", "account")


@dataclass(frozen=True)
class Evaluator:
    """One evaluator and everything the catalogue needs to know about it, declared once in ``@evaluator``.

    ``needs`` and ``hop`` are fixed for an evaluator with one job; a generic one (``jmespath``) derives them from
    its params, so they may be functions of the params.
    """

    name: str
    fn: EvaluatorFn
    needs: frozenset[str] | Callable[[dict], frozenset[str]]
    hop: str | Callable[[dict], str]
    params: dict[str, dict]  # parameter -> JSON Schema of its value; no other parameter is accepted
    required: tuple[str, ...] = ()
    check_params: Callable[[dict], list[tuple[tuple, str]]] | None = None  # what a schema cannot say
    doc: str = ""

    def needs_for(self, params: dict) -> frozenset[str]:
        """The snapshot areas this evaluator reads with these params (the collector fetches only those)."""
        return frozenset(self.needs(params)) if callable(self.needs) else self.needs

    def hop_for(self, params: dict) -> str:
        """The hop of the request path its findings are about."""
        return self.hop(params) if callable(self.hop) else self.hop

    def params_schema(self) -> dict:
        """The JSON Schema of a check's ``params`` for this evaluator (``playbook schema`` and validation)."""
        schema: dict = {"type": "object", "additionalProperties": False, "properties": dict(self.params)}
        if self.required:
            schema["required"] = list(self.required)
        return schema


REGISTRY: dict[str, Evaluator] = {}


def evaluator(name: str, *, hop: str | Callable[[dict], str],
              needs: set[str] | frozenset[str] | Callable[[dict], frozenset[str]] = frozenset(),
              params: dict[str, dict] | None = None, required: tuple[str, ...] = (),
              check_params: Callable[[dict], list[tuple[tuple, str]]] | None = None,
              ) -> Callable[[EvaluatorFn], EvaluatorFn]:
    """Register ``fn`` as the evaluator ``name``: the one declaration of what it reads (``needs``: snapshot
    areas), which hop it judges (one of ``HOPS``) and which params it takes (``params``: name -> JSON Schema;
    a check or playbook giving any other param is an error with file:line)."""
    if isinstance(hop, str) and hop not in HOPS:
        raise ValueError(f"evaluator {name!r}: hop {hop!r} is not one of {', '.join(HOPS)}")

    def deco(fn: EvaluatorFn) -> EvaluatorFn:
        REGISTRY[name] = Evaluator(name=name, fn=fn, needs=needs if callable(needs) else frozenset(needs), hop=hop,
                                   params=dict(params or {}), required=tuple(required), check_params=check_params,
                                   doc=(fn.__doc__ or "").strip())
        return fn

    return deco


def load_builtin() -> dict[str, Evaluator]:
    """Import the built-in evaluator modules (each registers itself) and return the registry."""
    from shine_ops.evaluators import (alb, dns, drift, ecs, exposure, generic, healthcheck, hygiene,  # noqa: F401
                                      listener, nacl, network, preflight, smoke, targetgroup, tg_ports, tls)

    return REGISTRY


def skip(summary: str, **kw: Any) -> Outcome:
    return Outcome("skip", summary, **kw)
