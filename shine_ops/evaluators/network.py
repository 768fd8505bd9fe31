"""Network hop: the security groups between the load balancer and the tasks, both ways.

Also the pieces every network check shares: which rule admits a port from a source (``admits``), the container
ports the load balancers reach, and the service and load balancers a check needs (``lb_to_tasks``). The network
ACLs on the way are judged in ``nacl``; the tasks' exposure to the internet in ``exposure``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip
from shine_ops.topology.model import LoadBalancer, Service, SgRule


def _cidr_covers(cidr: str, subnet_cidrs: list[str]) -> bool:
    try:
        net = ipaddress.ip_network(cidr, strict=False)
        # only subnets of the rule's IP version count: ::/0 must not "cover" IPv4 subnets (all() of nothing)
        same = [ipaddress.ip_network(s, strict=False) for s in subnet_cidrs]
        same = [s for s in same if s.version == net.version]
        return bool(same) and all(s.subnet_of(net) for s in same)
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


def not_awsvpc(svc) -> Outcome:
    """The skip every task-security-group check gives for a service without awsvpc security groups."""
    return skip(f"{svc.key} has no awsvpc security groups (EC2 launch type): instance security groups are not "
                "covered yet.")


def container_ports(ctx: Context) -> list[int]:
    """The container ports the service maps to its target groups (what the load balancer sends traffic to)."""
    svc = ctx.path.service
    ports = [m.container_port for m in (svc.load_balancers if svc else []) if m.container_port]
    return list(dict.fromkeys(ports))


def service_lbs(ctx: Context) -> list[LoadBalancer]:
    """The load balancers of the account that forward to the service."""
    snap = ctx.snapshot
    return [snap.load_balancers[a] for a in ctx.path.service_lb_arns(snap) if a in snap.load_balancers]


def subnet_cidrs(ctx: Context, ids: list[str]) -> list[str]:
    """The CIDRs of the subnets ``ids`` the snapshot holds (a subnet described without any CIDR adds none)."""
    return [c for s in ids if s in ctx.snapshot.subnets and (c := ctx.snapshot.subnets[s].cidr)]


@dataclass
class LbToTasks:
    """What a check of the traffic from the load balancers to the tasks judges: the service, the load balancers
    in front of it and the container ports they send to (none of them empty)."""

    svc: Service
    lbs: list[LoadBalancer]
    ports: list[int]


def lb_to_tasks(ctx: Context, *, awsvpc_groups: bool) -> LbToTasks | Outcome:
    """The service, its load balancers and container ports, or the skip that names what is missing.

    ``awsvpc_groups``: the check judges the tasks' security groups, so a service without them (EC2 launch type)
    is a skip too."""
    svc = ctx.path.service
    if not svc:
        return skip("No ECS service was found.")
    if awsvpc_groups and not svc.security_groups:
        return not_awsvpc(svc)
    lbs = service_lbs(ctx)
    if not lbs:
        return skip("No load balancer forwards to the service.")
    ports = container_ports(ctx)
    if not ports:
        return skip("The service maps no container port to its target groups.")
    return LbToTasks(svc, lbs, ports)


@evaluator("sg.alb-to-task-ingress", needs={"security_groups", "subnets", "elbv2", "ecs"}, hop="network")
def alb_to_task_ingress(ctx: Context, params: dict) -> Outcome:
    """A task security group admits the load balancer's security group (or its subnets) on the container port."""
    found = lb_to_tasks(ctx, awsvpc_groups=True)
    if isinstance(found, Outcome):
        return found
    snap, svc, lbs, ports = ctx.snapshot, found.svc, found.lbs, found.ports
    alb_sgs = {g for lb in lbs for g in lb.security_groups}
    nlbs = [lb for lb in lbs if lb.type == "network" and not lb.security_groups]
    if nlbs and len(nlbs) == len(lbs):
        return Outcome("warn", f"Not covered: {nlbs[0].name} is a network load balancer without security groups; "
                               "with client IP preservation the tasks see the clients' addresses, so the task security "
                               "group must admit those, which shine-ops does not judge yet.",
                       resources=[lb.arn for lb in nlbs] + list(svc.security_groups))
    alb_cidrs = subnet_cidrs(ctx, [s for lb in lbs for s in lb.subnets])
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
    # the source to admit: the load balancers' groups, else (none: a gateway load balancer) their subnets' CIDRs
    source = (f"the load balancer's {', '.join(sorted(alb_sgs))}" if alb_sgs
              else f"the load balancer's subnets {', '.join(alb_cidrs)}" if alb_cidrs
              else "the load balancer (it has no security group and no subnet shine-ops could read)")
    expected = f"ingress on tcp/{', '.join(map(str, ports))} from {', '.join(sorted(alb_sgs)) or source}"
    if missing:
        task_txt = ", ".join(g.id for g in task_sgs) or ", ".join(svc.security_groups)
        have = "; ".join(f"{g.id}: {', '.join(r.describe() for r in g.ingress) or 'no ingress'}" for g in task_sgs)
        return Outcome("fail", f"Task security group {task_txt} admits nothing from {source} on tcp/{missing[0]}: "
                               "health checks and requests time out.",
                       resources=resources, expected=expected, actual=have, evidence=evidence)
    return Outcome("pass", "; ".join(allowed) + ".", resources=resources, expected=expected,
                   actual="; ".join(allowed), evidence=evidence)


@evaluator("sg.alb-egress-to-task", needs={"security_groups", "subnets", "elbv2", "ecs"}, hop="network")
def alb_egress_to_task(ctx: Context, params: dict) -> Outcome:
    """Each load balancer in front of the service has a security group whose egress admits the tasks on the
    container port (the task security group, or a CIDR covering the task subnets)."""
    found = lb_to_tasks(ctx, awsvpc_groups=True)
    if isinstance(found, Outcome):
        return found
    snap, svc, lbs, ports = ctx.snapshot, found.svc, found.lbs, found.ports
    task_sgs = set(svc.security_groups)
    task_cidrs = subnet_cidrs(ctx, svc.subnets)
    alb_sg_ids = sorted({g for lb in lbs for g in lb.security_groups})
    unknown = [g for g in alb_sg_ids if g not in snap.security_groups]
    evidence = {"load_balancer_security_groups": {g: [r.describe() for r in snap.security_groups[g].egress]
                                                  for g in alb_sg_ids if g in snap.security_groups},
                "task_security_groups": sorted(task_sgs), "task_subnet_cidrs": task_cidrs,
                "container_ports": ports}
    if unknown:
        evidence["not_found"] = unknown
    resources = alb_sg_ids + sorted(task_sgs)
    allowed, gaps = [], []
    for lb in lbs:
        groups = [snap.security_groups[g] for g in lb.security_groups if g in snap.security_groups]
        for port in ports:
            why = next(((g, reason) for g in groups for r in g.egress
                        if (reason := admits(r, port, task_sgs, task_cidrs))), None)
            if why:
                allowed.append(f"{why[0].id} of {lb.name} lets tcp/{port} out to the tasks "
                               f"({why[1].replace('from ', 'to ', 1)})")
            else:
                gaps.append((lb, port, groups))
    expected = (f"egress on tcp/{', '.join(map(str, ports))} to {', '.join(sorted(task_sgs))}"
                + (f" or to {', '.join(task_cidrs)}" if task_cidrs else ""))
    if gaps:
        lb, port, groups = gaps[0]
        sg_txt = ", ".join(lb.security_groups) or "no security group"
        have = "; ".join(f"{g.id}: {', '.join(r.describe().replace(' from ', ' to ') for r in g.egress) or 'no egress'}"
                         for g in groups) or "security groups not found: " + ", ".join(unknown)
        return Outcome("fail", f"The egress rules of {lb.name}'s security group {sg_txt} let nothing out to the "
                               f"tasks ({', '.join(sorted(task_sgs))}) on tcp/{port}: health checks and requests "
                               "time out before they leave the load balancer.",
                       resources=resources, expected=expected, actual=have, evidence=evidence)
    return Outcome("pass", "; ".join(allowed) + ".", resources=resources, expected=expected,
                   actual="; ".join(allowed), evidence=evidence)
