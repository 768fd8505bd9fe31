"""Simulated target health for the sandbox (moto reports every IP target healthy, whatever the wiring).

Runs inside the daemon's process, where it replaces ``FakeTargetGroup.health_for``. It reads moto's
in-memory state and applies the same rules the checks use (security-group admission, ports, health
path), the way an ALB would experience them. Every answer carries ``[simulated]`` in its description.
"""

from __future__ import annotations

from typing import Any

from shine_ops.evaluators.network import admits
from shine_ops.topology.model import SgRule

# Paths the reference service answers with 200 (see reference_service); anything else is a 404.
APP_OK_PATHS = {"/health", "/ready", "/version", "/metrics"}


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


def install() -> None:
    """Replace moto's always-healthy answer with the simulated one (falls back to moto's on any surprise)."""
    from moto.elbv2 import models

    original = models.FakeTargetGroup.health_for

    def health_for(self: Any, target: dict, ec2_backend: Any) -> Any:
        base = original(self, target, ec2_backend)
        if base.status != "healthy":
            return base
        try:
            state, reason, desc = simulate(self, target["Id"], int(target.get("Port") or self.port))
        except Exception as exc:  # noqa: BLE001 - keep moto's answer but say we could not model it
            return models.FakeHealthStatus(base.instance_id, base.port, base.health_check_port, base.status,
                                           base.reason, f"[simulated] not modelled: {type(exc).__name__}")
        return models.FakeHealthStatus(base.instance_id, base.port, base.health_check_port, state, reason, desc)

    models.FakeTargetGroup.health_for = health_for  # type: ignore[method-assign]


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
    from shine_ops.evaluators.targetgroup import matcher_admits

    if not matcher_admits(matcher, r.status_code):
        return ("unhealthy", "Target.ResponseCodeMismatch",
                f"[simulated] Health checks failed with these codes: [{r.status_code}] on {path}")
    return "healthy", None, f"[simulated] healthy: GET {path} on port {port} answered {r.status_code} (live process)"
