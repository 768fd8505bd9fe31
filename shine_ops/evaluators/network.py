"""Network hop: security groups between the load balancer and the tasks."""

from __future__ import annotations

import ipaddress

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip
from shine_ops.topology.model import SgRule


def _cidr_covers(cidr: str, subnet_cidrs: list[str]) -> bool:
    try:
        net = ipaddress.ip_network(cidr, strict=False)
        return bool(subnet_cidrs) and all(ipaddress.ip_network(s, strict=False).subnet_of(net) for s in subnet_cidrs
                                          if ipaddress.ip_network(s, strict=False).version == net.version)
    except (ValueError, TypeError):
        return False


def admits(rule: SgRule, port: int, source_groups: set[str], source_cidrs: list[str]) -> str | None:
    """Why ``rule`` admits TCP ``port`` from the load balancer (a group or CIDR), or None."""
    if not rule.covers_tcp_port(port):
        return None
    hit = sorted(set(rule.groups) & source_groups)
    if hit:
        return f"from {hit[0]}"
    for cidr in rule.cidrs + rule.ipv6_cidrs:
        if _cidr_covers(cidr, source_cidrs):
            return f"from {cidr}"
    return None


def container_ports(ctx: Context) -> list[int]:
    svc = ctx.path.service
    ports = [m.container_port for m in (svc.load_balancers if svc else []) if m.container_port]
    return list(dict.fromkeys(ports))


@evaluator("sg.alb-to-task-ingress", needs={"security_groups", "network", "elbv2", "ecs"}, hop="network")
def alb_to_task_ingress(ctx: Context, params: dict) -> Outcome:
    """A task security group admits the load balancer's security group (or its subnets) on the container port."""
    snap, path, svc = ctx.snapshot, ctx.path, ctx.path.service
    if not svc:
        return skip("No ECS service was found.")
    if not svc.security_groups:
        return skip(f"{svc.key} has no awsvpc security groups (EC2 launch type): instance security groups are not covered yet.")
    lbs = [snap.load_balancers[a] for a in path.service_lb_arns(snap) if a in snap.load_balancers]
    if not lbs:
        return skip("No load balancer forwards to the service.")
    alb_sgs = {g for lb in lbs for g in lb.security_groups}
    alb_cidrs = [snap.subnets[s].cidr for lb in lbs for s in lb.subnets if s in snap.subnets]
    ports = container_ports(ctx)
    if not ports:
        return skip("The service maps no container port to its target groups.")
    task_sgs = [snap.security_groups[g] for g in svc.security_groups if g in snap.security_groups]
    resources = sorted(alb_sgs) + [g.id for g in task_sgs]
    evidence = {"load_balancer_security_groups": sorted(alb_sgs), "load_balancer_subnet_cidrs": alb_cidrs,
                "task_security_groups": {g.id: [r.describe() for r in g.ingress] for g in task_sgs},
                "container_ports": ports}
    allowed, missing = [], []
    for port in ports:
        why = next(((g, reason) for g in task_sgs for r in g.ingress
                    if (reason := admits(r, port, alb_sgs, alb_cidrs))), None)
        if why:
            allowed.append(f"{why[0].id} admits tcp/{port} {why[1]}")
        else:
            missing.append(port)
    expected = f"ingress on tcp/{', '.join(map(str, ports))} from {', '.join(sorted(alb_sgs))}"
    if missing:
        task_txt = ", ".join(g.id for g in task_sgs) or ", ".join(svc.security_groups)
        have = "; ".join(f"{g.id}: {', '.join(r.describe() for r in g.ingress) or 'no ingress'}" for g in task_sgs)
        return Outcome("fail", f"Task security group {task_txt} admits nothing from the load balancer's "
                               f"{', '.join(sorted(alb_sgs))} on tcp/{missing[0]}: health checks and requests time out.",
                       resources=resources, expected=expected, actual=have, evidence=evidence)
    return Outcome("pass", "; ".join(allowed) + ".", resources=resources, expected=expected,
                   actual="; ".join(allowed), evidence=evidence)
