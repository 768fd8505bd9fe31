"""Fixes: one module per fix id. Each plans exact API calls from a failing finding and the snapshot.

A ``Change`` is one mutating API call with the values before and after, a ``probe`` that reads the live
value it changes (used to refuse a stale plan, to verify, and to reconcile an interrupted apply) and the
``inverse`` calls that undo it. Changes may refer to results of earlier changes of the same plan with
``{"$ref": "<change key>.<name>"}`` (a target group created by one change, used by the next).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from shine_ops.engine.finding import Finding
from shine_ops.evaluators import Context


@dataclass
class ApiCall:
    service: str
    operation: str
    params: dict[str, Any]
    # name -> JMESPath into the response; only for an inverse call whose result a later inverse call of the same
    # change names with ``undo_ref`` (recreating a deleted group: create it, then add its rules to the new id)
    results: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.service}.{self.operation}"


@dataclass
class Probe:
    """Read one live value: ``call`` then JMESPath ``path``; ``before`` is what the plan saw."""

    call: ApiCall
    path: str
    before: Any
    # for a change that creates something: a read whose ``results`` find what it created (its ARN), so a run
    # interrupted between the call and its journal row still journals an inverse that names the new resource
    recover: ApiCall | None = None


@dataclass
class Change:
    key: str  # unique within the plan, e.g. "sg.allow-alb-to-task#1"
    fix: str
    resource: str
    description: str
    call: ApiCall
    before: dict[str, Any]
    after: dict[str, Any]
    inverse: list[ApiCall] = field(default_factory=list)
    results: dict[str, str] = field(default_factory=dict)  # name -> JMESPath into the call's response
    probe: Probe | None = None
    reversible: bool = True  # False: AWS cannot undo it (``undo_note`` says what rollback can still do)
    undo_note: str = ""
    saved: dict[str, Any] = field(default_factory=dict)  # the configuration needed to recreate what it deletes


@dataclass
class FixPlan:
    fix: str
    check: str
    summary: str
    changes: list[Change]
    verify: list[str]  # check ids that must pass after the fix
    refused: str | None = None  # why this fix will not be applied (scope, order, unsupported shape)
    notes: list[str] = field(default_factory=list)  # what it leaves alone, and why


@dataclass
class Plan:
    plan_id: str
    created_at: str
    tool_version: str
    account: str | None
    region: str
    endpoint: str | None
    target: dict[str, Any]
    fixes: list[FixPlan]

    @property
    def changes(self) -> list[Change]:
        return [c for f in self.fixes if not f.refused for c in f.changes]

    def body(self) -> dict[str, Any]:
        return {"account": self.account, "region": self.region, "target": self.target,
                "fixes": [asdict(f) for f in self.fixes]}

    @property
    def hash(self) -> str:
        return hashlib.sha256(json.dumps(self.body(), sort_keys=True, default=str).encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {"schema": "shine-ops.plan/v1", "plan_id": self.plan_id, "created_at": self.created_at,
                "tool_version": self.tool_version, "endpoint": self.endpoint, "hash": self.hash, **self.body()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Plan":
        def call(d: dict) -> ApiCall:
            return ApiCall(d["service"], d["operation"], d["params"], d.get("results") or {})

        fixes = []
        for f in data["fixes"]:
            changes = []
            for c in f["changes"]:
                probe = c.get("probe")
                changes.append(Change(key=c["key"], fix=c["fix"], resource=c["resource"], description=c["description"],
                                      call=call(c["call"]), before=c["before"], after=c["after"],
                                      inverse=[call(i) for i in c.get("inverse", [])], results=c.get("results", {}),
                                      probe=Probe(call(probe["call"]), probe["path"], probe["before"],
                                                  call(probe["recover"]) if probe.get("recover") else None)
                                      if probe else None,
                                      reversible=c.get("reversible", True), undo_note=c.get("undo_note", ""),
                                      saved=c.get("saved") or {}))
            fixes.append(FixPlan(fix=f["fix"], check=f["check"], summary=f["summary"], changes=changes,
                                 verify=list(f["verify"]), refused=f.get("refused"), notes=list(f.get("notes") or [])))
        return cls(plan_id=data["plan_id"], created_at=data["created_at"], tool_version=data["tool_version"],
                   account=data.get("account"), region=data["region"], endpoint=data.get("endpoint"),
                   target=data["target"], fixes=fixes)


@dataclass
class PlanContext:
    """What planners share: the diagnosis, and what earlier fixes of the same plan will create."""

    ctx: Context
    findings: dict[str, Finding]
    replaced_tgs: dict[str, Any] = field(default_factory=dict)  # old TG ARN -> {"$ref": ...} of its twin
    plan_id: str = ""
    # account-scope fixes (``fix tortoise``) read what they must save before deleting, and honour these:
    aws: Any = None
    allow_delete: bool = False
    suppressions: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Gate:
    """Checks that must not fail, judged again just before a fix is applied (after the fixes planned before it
    landed), or the fix is held back with ``refuse (failing checks)``. Declared on the fix, so the rule that a DNS
    change waits for its load balancer lives beside the change, not in the command that applies it."""

    checks: tuple[str, ...]
    refuse: str  # why it is held back, for people: "the load balancer does not pass its own checks yet"

    def why_not(self, verdicts: dict[str, str]) -> str | None:
        """``verdicts``: check id -> status, as judged now. None when no gate check fails."""
        bad = [c for c in self.checks if verdicts.get(c) == "fail"]
        return f"{self.refuse} ({', '.join(bad)})" if bad else None


@dataclass
class FixSpec:
    id: str
    checks: list[str]  # the failing checks it repairs
    plan: Callable[[PlanContext], FixPlan | None]
    order: int
    iam: list[str]
    scope: str = "path"  # "path": fix alb-ecs (one request path); "account": fix tortoise (the whole account)
    deletes: bool = False  # deletes something: planned, but applied only with --allow-delete
    gate: Gate | None = None  # checks that must not fail right before it is applied


REGISTRY: dict[str, FixSpec] = {}


def fix(fix_id: str, *, checks: list[str], order: int, iam: list[str], scope: str = "path",
        deletes: bool = False, gate: Gate | None = None) -> Callable:
    def deco(fn: Callable[[PlanContext], FixPlan | None]) -> Callable:
        REGISTRY[fix_id] = FixSpec(id=fix_id, checks=checks, plan=fn, order=order, iam=iam, scope=scope,
                                   deletes=deletes, gate=gate)
        return fn

    return deco


def load_fixes() -> dict[str, FixSpec]:
    from shine_ops.fixes import (alb_set_idle_timeout, ecs_align_lb_container, ecs_set_grace_period,  # noqa: F401
                                 listener_add_service_rule, route53_point_alias_to_service_alb, sg_allow_alb_egress,
                                 sg_allow_alb_to_task, tg_align_health_check, tg_deregister_stale_targets,
                                 tg_replace_with_container_port)
    from shine_ops.fixes import sg_delete_unused, taskdef_deregister_stale_revisions, tg_delete_orphaned  # noqa: F401

    return REGISTRY


def command_for(fix_id: str) -> str:
    """The command that plans this fix: ``fix alb-ecs`` for the request path, ``fix tortoise`` for the account."""
    spec = load_fixes().get(fix_id)
    if spec is not None and spec.scope == "account":
        return f"shine-ops fix tortoise --only {fix_id}" + (" --allow-delete" if spec.deletes else "")
    return f"shine-ops fix alb-ecs --only {fix_id}"


def ref(key: str, name: str) -> dict[str, str]:
    return {"$ref": f"{key}.{name}"}


def undo_ref(n: int, name: str) -> dict[str, str]:
    """In an inverse call: the result ``name`` of inverse call ``n`` of the same change (resolved at rollback)."""
    return {"$ref": f"undo#{n}.{name}"}


def resolve_refs(value: Any, results: dict[str, dict[str, Any]], *, keep_undo: bool = False) -> Any:
    """Replace ``{"$ref": "key.name"}`` by the result an earlier change produced.

    ``keep_undo``: leave ``undo_ref`` references in place (they are resolved when the inverse runs)."""
    if isinstance(value, dict):
        if set(value) == {"$ref"}:
            key, _, name = value["$ref"].rpartition(".")
            if keep_undo and key.startswith("undo#"):
                return value
            if key not in results or name not in results[key]:
                raise KeyError(f"{value['$ref']} is not known yet")
            return results[key][name]
        return {k: resolve_refs(v, results, keep_undo=keep_undo) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_refs(v, results, keep_undo=keep_undo) for v in value]
    return value


def show_value(value: Any) -> str:
    """A plan value for people: references to results of earlier changes read as <what they create>."""
    def swap(v: Any) -> Any:
        if isinstance(v, dict) and set(v) == {"$ref"}:
            key, _, name = v["$ref"].rpartition(".")
            return f"<{name} created by {key}>"
        if isinstance(v, dict):
            return {k: swap(x) for k, x in v.items()}
        if isinstance(v, list):
            return [swap(x) for x in v]
        return v

    value = swap(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value) if value else "(none)"
    return json.dumps(value, default=str)


def short_resource(resource: str) -> str:
    """``arn:...:targetgroup/name/id`` -> ``target group name``; other ARNs keep their last readable part."""
    if not resource.startswith("arn:"):
        return resource
    tail = resource.split(":", 5)[-1]
    kind, _, rest = tail.partition("/")
    parts = rest.split("/")
    if kind == "targetgroup":
        return f"target group {parts[0]}"
    if kind == "loadbalancer":
        return f"load balancer {parts[1] if len(parts) > 1 else rest}"
    if kind in ("listener", "listener-rule"):
        return f"{kind.replace('-', ' ')} of {parts[1]} ({parts[-1][:8]})" if len(parts) > 2 else tail
    if kind == "service":
        return f"service {'/'.join(parts[-2:])}"
    return tail
