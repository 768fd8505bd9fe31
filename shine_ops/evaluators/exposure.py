"""Network hop: whether the tasks are open to the whole internet, past the load balancer.

A task with a public IP is reachable directly on every port its security groups admit from the world
(docs/aws-behaviour.md section 7), so the verdict depends on how the tasks are addressed as much as on the rules.
"""

from __future__ import annotations

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip
from shine_ops.evaluators.network import container_ports, not_awsvpc
from shine_ops.topology.model import SgRule

WORLD = ("0.0.0.0/0", "::/0")
_PROTOCOLS = {"-1": "all", "all": "all", "tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp"}


def _public_ip_evidence(ctx: Context) -> list[str]:
    """Why the service's tasks have public IPs: ``assignPublicIp: ENABLED`` on the service, a deployment or a task
    set, or a public IP on a running task's network interface (when the snapshot holds the interface)."""
    snap, path, svc = ctx.snapshot, ctx.path, ctx.path.service
    assert svc is not None
    out: list[str] = []
    if str(svc.assign_public_ip or "").upper() == "ENABLED":
        out.append(f"{svc.key} sets assignPublicIp ENABLED")
    for kind, entries in (("deployment", svc.deployments), ("task set", svc.task_sets)):
        for e in entries:
            if getattr(e, "status", "") == "INACTIVE":
                continue
            cfg = ((e.raw.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {})
            if str(cfg.get("assignPublicIp", "")).upper() == "ENABLED" and not out:
                out.append(f"the {kind} {e.id} of {svc.key} sets assignPublicIp ENABLED")
    for task in path.running_tasks(snap):
        for eni_id in task.eni_ids:
            eni = snap.network_interfaces.get(eni_id)
            if eni and eni.public_ips:
                out.append(f"task {task.arn.rsplit('/', 1)[-1]} has public IP {', '.join(eni.public_ips)} on {eni_id}")
    return out


def _container_ports(ctx: Context) -> list[tuple[str, int]]:
    """(protocol, port) of every container port of the revisions judged (the PRIMARY one and those that run), and the
    ports the service maps to its target groups."""
    snap, path = ctx.snapshot, ctx.path
    ports: list[tuple[str, int]] = [("tcp", p) for p in container_ports(ctx)]
    for td in path.judged_task_definitions(snap):
        for c in td.containers:
            for m in c.port_mappings:
                try:
                    ports.append((str(m.get("protocol") or "tcp").lower(), int(m["containerPort"])))
                except (KeyError, TypeError, ValueError):
                    continue
    return list(dict.fromkeys(ports))


def _admits_port(rule: SgRule, proto: str, port: int) -> bool:
    kind = _PROTOCOLS.get(rule.protocol.lower())
    if kind == "all":
        return True
    if kind != proto:
        return False
    lo = rule.from_port if rule.from_port is not None else 0
    hi = rule.to_port if rule.to_port is not None else 65535
    return lo <= port <= hi


def _rule_ports(rule: SgRule) -> str:
    kind = _PROTOCOLS.get(rule.protocol.lower(), rule.protocol)
    if kind == "all":
        return "every port (all traffic)"
    lo, hi = rule.from_port, rule.to_port
    if lo is None or hi is None or lo == -1:
        return f"{kind}/all ports"
    return f"{kind}/{lo}" + (f"-{hi}" if hi != lo else "")


def _port_txt(ports: list[tuple[str, int]]) -> str:
    return ", ".join(f"{p}/{n}" for p, n in ports)


@evaluator("sg.task-not-open-to-world", needs={"security_groups", "ecs"}, hop="network")
def task_not_open_to_world(ctx: Context, params: dict) -> Outcome:
    """No task security group admits the whole internet (0.0.0.0/0 or ::/0; a prefix list is not the world).

    A task with a public IP (``assignPublicIp: ENABLED``, or a public IP on its interface) is reachable directly on
    every port its groups admit from the world, load balancer or not (docs/aws-behaviour.md section 7): every such rule is
    judged. A task without one is judged on every port of its containers. A verdict always names the ports judged;
    with no port to judge and no public IP it is a skip, never a pass."""
    snap, svc = ctx.snapshot, ctx.path.service
    if not svc:
        return skip("No ECS service was found.")
    if not svc.security_groups:
        return not_awsvpc(svc)
    groups = [snap.security_groups[g] for g in svc.security_groups if g in snap.security_groups]
    if not groups:
        return skip("The task security groups " + ", ".join(svc.security_groups) + " were not found.",
                    resources=list(svc.security_groups))
    public = _public_ip_evidence(ctx)
    ports = _container_ports(ctx)
    world_rules = [(g, r, [c for c in r.cidrs + r.ipv6_cidrs if c in WORLD]) for g in groups for r in g.ingress]
    world_rules = [(g, r, w) for g, r, w in world_rules if w and _PROTOCOLS.get(r.protocol.lower())]
    resources = [g.id for g in groups]
    evidence: dict = {"task_security_groups": {g.id: [r.describe() for r in g.ingress] for g in groups},
                      "container_ports": [f"{p}/{n}" for p, n in ports], "public_ip": public}

    def text(r: SgRule, world: list[str]) -> str:
        return f"{_rule_ports(r)} from {', '.join(world)}"

    if public:
        evidence["judged"] = "every port the task security groups admit from 0.0.0.0/0 or ::/0 (the tasks have public IPs)"
        expected = "no ingress from 0.0.0.0/0 or ::/0 on any port (the tasks have public IPs)"
        if world_rules:
            g, r, world = world_rules[0]
            evidence["open_rules"] = [{"security_group": x.id, "rule": text(y, w), "raw": y.raw} for x, y, w in world_rules]
            more = f" (and {len(world_rules) - 1} more rule(s))" if len(world_rules) > 1 else ""
            return Outcome("fail", f"Task security group {g.label} admits {text(r, world)}{more}, and the tasks have "
                                   f"a public IP ({public[0]}): anyone on the internet reaches them directly on "
                                   f"{_rule_ports(r)}, bypassing any load balancer; allow only the load balancer's "
                                   "security group, or turn assignPublicIp off.",
                           resources=resources, expected=expected,
                           actual="; ".join(f"{x.id}: {text(y, w)}" for x, y, w in world_rules), evidence=evidence)
        return Outcome("pass", f"The tasks have a public IP ({public[0]}), but no task security group "
                               f"({', '.join(resources)}) admits 0.0.0.0/0 or ::/0 on any port "
                               f"({sum(len(g.ingress) for g in groups)} ingress rule(s) judged).",
                       resources=resources, expected=expected, actual="no rule admits the internet", evidence=evidence)
    if not ports:
        why = ""
        if "task_definitions" in snap.errors:
            why = " (the task definition could not be read)"
        return skip(f"No container port of {svc.key} is known{why} and its tasks have no public IP: no port to judge "
                    f"the task security groups {', '.join(resources)} on.", resources=resources, evidence=evidence)
    evidence["judged"] = "the container ports (the tasks have no public IP)"
    port_txt = _port_txt(ports)
    expected = f"no ingress from 0.0.0.0/0 or ::/0 on {port_txt}; only the load balancer's security group"
    open_rules = [(g, r, w) for g, r, w in world_rules if any(_admits_port(r, p, n) for p, n in ports)]
    if open_rules:
        g, r, world = open_rules[0]
        hit = [f"{p}/{n}" for p, n in ports if _admits_port(r, p, n)]
        evidence["open_rules"] = [{"security_group": x.id, "rule": text(y, w), "raw": y.raw} for x, y, w in open_rules]
        return Outcome("fail", f"Task security group {g.label} rule \"{text(r, world)}\" opens the container port "
                               f"{', '.join(hit)} to the whole internet, bypassing the load balancer; allow only its "
                               "security group.",
                       resources=resources, expected=expected,
                       actual="; ".join(f"{x.id}: {text(y, w)}" for x, y, w in open_rules), evidence=evidence)
    return Outcome("pass", f"No task security group ({', '.join(resources)}) admits 0.0.0.0/0 or ::/0 on {port_txt}, "
                           "and the tasks have no public IP.",
                   resources=resources, expected=expected, actual="not open to the internet", evidence=evidence)
