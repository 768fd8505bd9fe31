"""Simulated target health for the sandbox (moto reports every IP target healthy, whatever the wiring).

Runs inside the daemon's process, where it replaces ``FakeTargetGroup.health_for``. It reads moto's
in-memory state and applies the same rules the checks use (security-group admission, ports, health
path), the way an ALB would experience them. Every answer carries ``[simulated]`` in its description.

Health also converges as on AWS (docs/aws-behaviour.md section 4): a target shows a new verdict only after
``HealthCheckIntervalSeconds x HealthyThresholdCount`` (to healthy) or ``x UnhealthyThresholdCount`` (to
unhealthy) has passed since the configuration that decides it changed; until then it keeps its previous state,
or reads ``initial`` (``Elb.InitialHealthChecking``) when it had none (newly registered, newly in use). That
time is multiplied by a sandbox setting, ``SHINE_OPS_SANDBOX_HEALTH_SCALE`` (0 = at once, the default of
``install``; the daemon uses ``DAEMON_SCALE``), so tests and demos see convergence in seconds, not minutes.
Targets registered before the first health query (the seeded world, as if it had run for a long time) start
from their verdict at once. The sandbox runs no health checks between queries: a change counts from the first
query that sees it (in practice the fix's own verification, right after the change).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from shine_ops.evaluators.network import admits
from shine_ops.topology.model import SgRule

# Paths the reference service answers with 200 (see reference_service); anything else is a 404.
APP_OK_PATHS = {"/", "/health", "/ready", "/version", "/metrics"}

SCALE_ENV = "SHINE_OPS_SANDBOX_HEALTH_SCALE"
DAEMON_SCALE = 0.02  # 30 s x 5 (the HTTP defaults) -> 3 s: visible in a demo, short in a test
_default_scale = 0.0  # set by install(): what applies when SHINE_OPS_SANDBOX_HEALTH_SCALE is not set

Verdict = tuple[str, "str | None", str]  # (state, reason, description), as DescribeTargetHealth gives them


def _sg_rules(ec2: Any, group_id: str) -> list[SgRule]:
    group = ec2.get_security_group_from_id(group_id)
    if group is None:
        return []
    out = []
    for r in group.ingress_rules:
        out.append(SgRule(protocol=r.ip_protocol or "-1", from_port=r.from_port, to_port=r.to_port,
                          cidrs=[r.ip_range["CidrIp"]] if r.ip_range.get("CidrIp") else [],
                          ipv6_cidrs=[r.ip_range["CidrIpv6"]] if r.ip_range.get("CidrIpv6") else [],
                          groups=[r.source_group["GroupId"]] if r.source_group.get("GroupId") else [],
                          prefix_lists=[r.prefix_list_id] if r.prefix_list_id else []))
    return out


def simulate(tg: Any, target_id: str, port: int) -> tuple[str, str | None, str]:
    """(state, reason, description) for one target of one target group."""
    from moto.ec2.models import ec2_backends
    from moto.ecs.models import ecs_backends
    from moto.elbv2.models import elbv2_backends

    acct, region = tg.account_id, tg.region_name
    elbv2, ecs, ec2 = elbv2_backends[acct][region], ecs_backends[acct][region], ec2_backends[acct][region]
    lbs = [lb for lb in elbv2.load_balancers.values() if tg.arn in _forwarded_tgs(elbv2, lb.arn)]
    if not lbs:
        return "unused", "Target.NotInUse", "[simulated] Target group is not configured to receive traffic from the load balancer"
    services = [s for s in ecs.services.values()
                if any(m.get("targetGroupArn") == tg.arn for m in (s.load_balancers or []))]
    if not services:
        return "healthy", None, "[simulated] no ECS service model for this target; assumed healthy"
    svc = services[0]
    mapping = next(m for m in svc.load_balancers if m.get("targetGroupArn") == tg.arn)
    td = ecs.describe_task_definition(svc.task_definition)
    cdef = next((c for c in td.container_definitions if c.get("name") == mapping.get("containerName")), None)
    env = {e["name"]: e.get("value") for e in (cdef or {}).get("environment", [])}
    listen = int(env.get("PORT") or (cdef or {}).get("portMappings", [{}])[0].get("containerPort") or 0)
    hc_port = port if str(tg.health_check_port) in ("traffic-port", "None", "") else int(tg.health_check_port)

    alb_sgs = {g for lb in lbs for g in (lb.security_groups or [])}
    alb_cidrs = []
    for lb in lbs:
        for sub in lb.subnets or []:
            sid = sub if isinstance(sub, str) else getattr(sub, "id", None)
            subnet = ec2.get_subnet(sid) if sid else None
            if subnet is not None:
                alb_cidrs.append(subnet.cidr_block)
    net = (getattr(svc, "network_configuration", None) or {}).get("awsvpcConfiguration") or {}
    task_sgs = net.get("securityGroups") or []
    if not any(admits(rule, hc_port, alb_sgs, alb_cidrs) for g in task_sgs for rule in _sg_rules(ec2, g)):
        return "unhealthy", "Target.Timeout", f"[simulated] Request timed out: no task security group admits the load balancer on tcp/{hc_port}"
    from shine_ops.sandbox import tasks

    task_ips = {d.get("value") for by_cluster in ecs.tasks.values() for t in by_cluster.values()
                if getattr(t, "last_status", "RUNNING") == "RUNNING"
                for a in (getattr(t, "attachments", None) or []) for d in a.get("details", [])
                if d.get("name") == "privateIPv4Address"}
    if target_id not in task_ips:  # a registered address no running task has: nothing answers there
        return "unhealthy", "Target.Timeout", f"[simulated] Request timed out: no task answers at {target_id}"
    local = tasks.RUNNER.by_ip(target_id) if tasks.RUNNER else None
    if local is not None:  # a real process runs this task: health-check it for real
        return probe(local.address, hc_port, tg.health_check_path or "/", _matcher(tg))
    if hc_port != listen:
        return "unhealthy", "Target.FailedHealthChecks", f"[simulated] Health checks failed: connection refused on port {hc_port} (the app listens on {listen})"
    path = tg.health_check_path or "/"
    if path not in APP_OK_PATHS:
        return "unhealthy", "Target.ResponseCodeMismatch", f"[simulated] Health checks failed with these codes: [404] on {path}"
    return "healthy", None, f"[simulated] healthy: the load balancer reaches port {hc_port} and {path} answers 200"


def _forwarded_tgs(elbv2: Any, lb_arn: str) -> set[str]:
    out: set[str] = set()
    lb = elbv2.load_balancers[lb_arn]
    for listener in lb.listeners.values():
        for action in list(listener.default_actions) + [a for r in _rules(listener) for a in r.actions]:
            data = action.data if hasattr(action, "data") else action
            if data.get("TargetGroupArn"):
                out.add(data["TargetGroupArn"])
            for t in (data.get("ForwardConfig") or {}).get("TargetGroups", []) or []:
                out.add(t["TargetGroupArn"])
    return out


def install(default_scale: float | None = None) -> None:
    """Replace moto's always-healthy answer with the simulated one (falls back to moto's on any surprise).

    ``default_scale`` is the convergence scale when ``SHINE_OPS_SANDBOX_HEALTH_SCALE`` is not set: 0 (at once)
    unless given, so an embedding that does not ask for convergence sees every verdict immediately."""
    from moto.elbv2 import models

    global _default_scale
    _default_scale = 0.0 if default_scale is None else max(0.0, float(default_scale))
    _track_registrations(models)
    original = models.FakeTargetGroup.health_for

    def health_for(self: Any, target: dict, ec2_backend: Any) -> Any:
        base = original(self, target, ec2_backend)
        if base.status != "healthy":
            return base
        try:
            verdict = simulate(self, target["Id"], int(target.get("Port") or self.port))
            state, reason, desc = converge(self, target["Id"], verdict)
        except Exception as exc:  # noqa: BLE001 - keep moto's answer but say we could not model it
            return models.FakeHealthStatus(base.instance_id, base.port, base.health_check_port, base.status,
                                           base.reason, f"[simulated] not modelled: {type(exc).__name__}")
        return models.FakeHealthStatus(base.instance_id, base.port, base.health_check_port, state, reason, desc)

    models.FakeTargetGroup.health_for = health_for  # type: ignore[method-assign]


def scale() -> float:
    """The convergence scale now: ``SHINE_OPS_SANDBOX_HEALTH_SCALE`` if set (read on every query, so a test can
    change it), else the default ``install`` was given. 0 means every verdict shows at once."""
    raw = os.environ.get(SCALE_ENV, "").strip()
    if not raw:
        return _default_scale
    try:
        return max(0.0, float(raw))
    except ValueError:  # a typo must not break the sandbox: the default applies
        return _default_scale


@dataclass
class _Seen:
    """What one target of one target group shows, and the verdict it is converging to (if any)."""

    shown: Verdict
    pending: Verdict | None = None
    since: float = 0.0  # when the pending verdict started to hold (its configuration changed)


def _needed_s(tg: Any, state: str) -> float:
    """Unscaled seconds of health checks before a target shows ``state``: interval x the matching threshold."""
    interval = float(getattr(tg, "health_check_interval_seconds", None) or 30)
    if state == "healthy":
        return interval * float(getattr(tg, "healthy_threshold_count", None) or 5)
    if state == "unhealthy":
        return interval * float(getattr(tg, "unhealthy_threshold_count", None) or 2)
    return 0.0  # unused, draining, unavailable: no health check decides these


def converge(tg: Any, target_id: str, verdict: Verdict, now: float | None = None) -> Verdict:
    """What the target shows given its current ``verdict``: the verdict itself once it has held long enough,
    else its previous state (or ``initial`` when it had no health-checked state yet)."""
    now = time.monotonic() if now is None else now
    memory: dict[str, _Seen] = tg.__dict__.setdefault("_shine_ops_health", {})
    k = scale()
    epoch = _epoch(tg, now)
    seen = memory.get(target_id)
    if seen is None:
        registered = tg.__dict__.get("_shine_ops_registered", {}).get(target_id)
        if k <= 0 or registered is None or registered <= epoch:
            memory[target_id] = _Seen(shown=verdict)  # the starting world: as if it had run for a long time
            return verdict
        seen = memory[target_id] = _Seen(shown=_initial(), pending=verdict, since=registered)
    if k <= 0 or verdict[:2] == seen.shown[:2] or (verdict[0] == seen.shown[0] != "initial"):
        seen.shown, seen.pending = verdict, None  # nothing to converge (or only the reason words changed)
        return verdict
    if seen.pending is None or seen.pending[:2] != verdict[:2]:
        seen.pending, seen.since = verdict, now  # the configuration that decides it changed just now
    else:
        seen.pending = verdict
    left = _needed_s(tg, verdict[0]) * k - (now - seen.since)
    if left <= 0:
        seen.shown, seen.pending = verdict, None
        return verdict
    if seen.shown[0] in ("unused", "initial") and verdict[0] in ("healthy", "unhealthy"):
        seen.shown = _initial()  # newly in use: the first health checks run
    state, reason, desc = seen.shown
    return state, reason, f"{desc} [simulated convergence: {verdict[0]} in {left:.1f} s]"


def _initial() -> Verdict:
    return "initial", "Elb.InitialHealthChecking", "[simulated] Initial health checks in progress"


def _epoch(tg: Any, now: float) -> float:
    """When this load-balancing backend was first asked for target health (kept on moto's backend object, so a
    moto reset starts a new world)."""
    from moto.elbv2.models import elbv2_backends

    backend = elbv2_backends[tg.account_id][tg.region_name]
    return backend.__dict__.setdefault("_shine_ops_health_epoch", now)


def _track_registrations(models: Any) -> None:
    """Remember when each target was registered (moto keeps no such time): a target registered after the first
    health query starts ``initial``; one deregistered forgets what it showed."""
    cls = models.FakeTargetGroup
    if getattr(cls.register, "_shine_ops", False):
        return
    register, deregister = cls.register, cls.deregister

    def tracked_register(self: Any, targets: list[dict[str, Any]]) -> None:
        new = [t["Id"] for t in targets if t["Id"] not in self.targets]
        register(self, targets)
        now = time.monotonic()
        regs = self.__dict__.setdefault("_shine_ops_registered", {})
        for tid in new:
            regs[tid] = now
            self.__dict__.get("_shine_ops_health", {}).pop(tid, None)

    def tracked_deregister(self: Any, targets: list[dict[str, Any]]) -> None:
        deregister(self, targets)
        for t in targets:
            self.__dict__.get("_shine_ops_registered", {}).pop(t["Id"], None)
            self.__dict__.get("_shine_ops_health", {}).pop(t["Id"], None)

    tracked_register._shine_ops = True  # type: ignore[attr-defined]
    cls.register, cls.deregister = tracked_register, tracked_deregister


def _rules(listener: Any) -> list[Any]:
    rules = getattr(listener, "rules", None) or getattr(listener, "_rules", None) or {}
    return list(rules.values()) if isinstance(rules, dict) else list(rules)


def _matcher(tg: Any) -> str:
    m = getattr(tg, "matcher", None) or {}
    return str(m.get("HttpCode") or "200") if isinstance(m, dict) else "200"


def probe(address: str, port: int, path: str, matcher: str, timeout_s: float = 2.0) -> tuple[str, str | None, str]:
    """One real HTTP health check of a local task process, with the ALB's verdict words."""
    import requests

    url = f"http://{address}:{port}{path}"
    try:
        r = requests.get(url, timeout=timeout_s, allow_redirects=False)
    except requests.exceptions.ConnectionError as exc:
        if "timed out" in str(exc).lower():
            return "unhealthy", "Target.Timeout", f"[simulated] Request timed out on port {port}"
        return "unhealthy", "Target.FailedHealthChecks", f"[simulated] Health checks failed: connection refused on port {port}"
    except requests.exceptions.Timeout:
        return "unhealthy", "Target.Timeout", f"[simulated] Request timed out on port {port}"
    from shine_ops.evaluators.healthcheck import matcher_admits

    if not matcher_admits(matcher, r.status_code):
        return ("unhealthy", "Target.ResponseCodeMismatch",
                f"[simulated] Health checks failed with these codes: [{r.status_code}] on {path}")
    return "healthy", None, f"[simulated] healthy: GET {path} on port {port} answered {r.status_code} (live process)"
