"""Network hop: security groups between the load balancer and the tasks."""

from __future__ import annotations

import ipaddress

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip
from shine_ops.topology.model import SgRule


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
    svc = ctx.path.service
    ports = [m.container_port for m in (svc.load_balancers if svc else []) if m.container_port]
    return list(dict.fromkeys(ports))


@evaluator("sg.alb-to-task-ingress", needs={"security_groups", "subnets", "elbv2", "ecs"}, hop="network")
def alb_to_task_ingress(ctx: Context, params: dict) -> Outcome:
    """A task security group admits the load balancer's security group (or its subnets) on the container port."""
    snap, path, svc = ctx.snapshot, ctx.path, ctx.path.service
    if not svc:
        return skip("No ECS service was found.")
    if not svc.security_groups:
        return not_awsvpc(svc)
    lbs = [snap.load_balancers[a] for a in path.service_lb_arns(snap) if a in snap.load_balancers]
    if not lbs:
        return skip("No load balancer forwards to the service.")
    alb_sgs = {g for lb in lbs for g in lb.security_groups}
    nlbs = [lb for lb in lbs if lb.type == "network" and not lb.security_groups]
    if nlbs and len(nlbs) == len(lbs):
        return Outcome("warn", f"Not covered: {nlbs[0].name} is a network load balancer without security groups; "
                               "with client IP preservation the tasks see the clients' addresses, so the task security "
                               "group must admit those, which shine-ops does not judge yet.",
                       resources=[lb.arn for lb in nlbs] + list(svc.security_groups))
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


# --------------------------------------------------------------------------- ALB egress, NACLs, exposure
def _service_lbs(ctx: Context) -> list:
    snap = ctx.snapshot
    return [snap.load_balancers[a] for a in ctx.path.service_lb_arns(snap) if a in snap.load_balancers]


def _subnet_cidrs(ctx: Context, ids: list[str]) -> list[str]:
    return [ctx.snapshot.subnets[s].cidr for s in ids if s in ctx.snapshot.subnets]


@evaluator("sg.alb-egress-to-task", needs={"security_groups", "subnets", "elbv2", "ecs"}, hop="network")
def alb_egress_to_task(ctx: Context, params: dict) -> Outcome:
    """Each load balancer in front of the service has a security group whose egress admits the tasks on the
    container port (the task security group, or a CIDR covering the task subnets)."""
    snap, svc = ctx.snapshot, ctx.path.service
    if not svc:
        return skip("No ECS service was found.")
    if not svc.security_groups:
        return not_awsvpc(svc)
    lbs = _service_lbs(ctx)
    if not lbs:
        return skip("No load balancer forwards to the service.")
    ports = container_ports(ctx)
    if not ports:
        return skip("The service maps no container port to its target groups.")
    task_sgs = set(svc.security_groups)
    task_cidrs = _subnet_cidrs(ctx, svc.subnets)
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


EPHEMERAL = (1024, 65535)


def _v4_range(cidr: str) -> tuple[int, int] | None:
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except (ValueError, TypeError):
        return None
    if net.version != 4:
        return None
    return int(net.network_address), int(net.broadcast_address)


def _minus(box: tuple, cut: tuple) -> list[tuple]:
    """Rectangles (addr_lo, addr_hi, port_lo, port_hi) left of ``box`` after removing ``cut``."""
    a0, a1, p0, p1 = box
    c0, c1, q0, q1 = max(a0, cut[0]), min(a1, cut[1]), max(p0, cut[2]), min(p1, cut[3])
    if c0 > c1 or q0 > q1:
        return [box]
    out = []
    if a0 < c0:
        out.append((a0, c0 - 1, p0, p1))
    if c1 < a1:
        out.append((c1 + 1, a1, p0, p1))
    if p0 < q0:
        out.append((c0, c1, p0, q0 - 1))
    if q1 < p1:
        out.append((c0, c1, q1 + 1, p1))
    return out


def _overlaps(box: tuple, cut: tuple) -> bool:
    return max(box[0], cut[0]) <= min(box[1], cut[1]) and max(box[2], cut[2]) <= min(box[3], cut[3])


def nacl_verdict(entries: list[dict], egress: bool, peer_cidr: str, ports: tuple[int, int]) -> tuple[bool, str, dict | None]:
    """Does a NACL allow TCP to/from every address of ``peer_cidr`` on every port of ``ports`` in one direction?

    Entries are evaluated in rule-number order, the first match wins, and whatever no rule matches meets the
    implicit ``*`` deny. Returns (allowed, the rule that decided, that entry or None for ``*``)."""
    peer = _v4_range(peer_cidr)
    if peer is None:
        return True, "not an IPv4 subnet: not evaluated", None
    left = [(peer[0], peer[1], ports[0], ports[1])]
    deciding: list[str] = []
    for e in sorted((e for e in entries if bool(e.get("Egress")) == egress), key=lambda e: int(e.get("RuleNumber", 0))):
        proto = str(e.get("Protocol", "-1"))
        if proto not in ("-1", "6", "tcp", "all"):
            continue
        rng = _v4_range(e.get("CidrBlock") or "")
        if rng is None:
            continue  # an IPv6 entry does not apply to IPv4 traffic
        pr = e.get("PortRange") or {}
        lo, hi = (0, 65535) if proto in ("-1", "all") or not pr else (int(pr.get("From", 0)), int(pr.get("To", 65535)))
        cut = (rng[0], rng[1], lo, hi)
        if not any(_overlaps(b, cut) for b in left):
            continue
        num = int(e.get("RuleNumber", 0))
        label = "rule *" if num >= 32767 else f"rule {num}"
        if str(e.get("RuleAction", "deny")).lower() != "allow":
            return False, label, e
        deciding.append(label)
        left = [piece for b in left for piece in _minus(b, cut)]
        if not left:
            return True, ", ".join(deciding), e
    return False, "rule * (no rule matches; the default deny)", None


@evaluator("nacl.alb-to-task", needs={"subnets", "nacls", "elbv2", "ecs"}, hop="network")
def nacl_alb_to_task(ctx: Context, params: dict) -> Outcome:
    """The network ACLs of the load balancer's subnets and of the task subnets allow the load balancer to reach
    the container port and the replies to come back on ephemeral ports 1024-65535."""
    snap, svc = ctx.snapshot, ctx.path.service
    if not svc:
        return skip("No ECS service was found.")
    lbs = _service_lbs(ctx)
    if not lbs:
        return skip("No load balancer forwards to the service.")
    ports = container_ports(ctx)
    if not ports:
        return skip("The service maps no container port to its target groups.")
    if not svc.subnets:
        return skip(f"{svc.key} has no awsvpc subnets: its network path is not covered yet.")
    alb_subnets = list(dict.fromkeys(s for lb in lbs for s in lb.subnets))
    subnet_ids = list(dict.fromkeys(alb_subnets + svc.subnets))
    missing = [s for s in subnet_ids if s not in snap.subnets]
    acl_of = {s: next((n for n in snap.network_acls.values() if s in n.subnet_ids), None) for s in subnet_ids}
    no_acl = [s for s, n in acl_of.items() if n is None and s not in missing]
    if missing or no_acl:
        return skip("The network ACLs of subnets " + ", ".join(missing + no_acl) + " were not found, so the path "
                    "through them cannot be evaluated.", resources=missing + no_acl)
    acl_ids = list(dict.fromkeys(acl_of[s].id for s in subnet_ids))  # type: ignore[union-attr]
    resources = acl_ids + subnet_ids
    checked, denials = [], []
    for a in alb_subnets:
        for t in svc.subnets:
            if a == t:
                continue  # traffic inside one subnet never crosses its network ACL
            a_acl, t_acl = acl_of[a], acl_of[t]
            a_cidr, t_cidr = snap.subnets[a].cidr, snap.subnets[t].cidr
            for port in ports:
                legs = [(a_acl, True, t_cidr, (port, port), f"{a} ({a_cidr}) egress to {t} ({t_cidr}) on tcp/{port}"),
                        (t_acl, False, a_cidr, (port, port), f"{t} ({t_cidr}) ingress from {a} ({a_cidr}) on tcp/{port}"),
                        (t_acl, True, a_cidr, EPHEMERAL, f"{t} ({t_cidr}) egress of replies to {a} ({a_cidr}) on tcp/1024-65535"),
                        (a_acl, False, t_cidr, EPHEMERAL, f"{a} ({a_cidr}) ingress of replies from {t} ({t_cidr}) on tcp/1024-65535")]
                for acl, egress, peer, rng, what in legs:
                    ok, why, entry = nacl_verdict(acl.entries, egress, peer, rng)  # type: ignore[union-attr]
                    record = {"network_acl": acl.id, "leg": what, "allowed": ok, "decided_by": why}  # type: ignore[union-attr]
                    if entry is not None:
                        record["entry"] = {k: entry.get(k) for k in ("RuleNumber", "Protocol", "RuleAction", "CidrBlock",
                                                                     "PortRange") if k in entry}
                    (checked if ok else denials).append(record)
    evidence = {"network_acls": {s: acl_of[s].id for s in subnet_ids}, "legs": checked + denials,  # type: ignore[union-attr]
                "container_ports": ports}
    expected = (f"tcp/{', '.join(map(str, ports))} from the load balancer subnets {', '.join(alb_subnets)} to the task "
                f"subnets {', '.join(svc.subnets)}, and replies on tcp/1024-65535, allowed by every network ACL on the way")
    if not checked and not denials:
        return Outcome("pass", "The load balancer and the tasks share their subnets: no network ACL lies between them.",
                       resources=resources, expected=expected, actual="same subnets", evidence=evidence)
    if denials:
        d = denials[0]
        actual = "; ".join(f"{x['network_acl']} {x['decided_by']} denies {x['leg']}" for x in denials)
        return Outcome("fail", f"Network ACL {d['network_acl']} {d['decided_by']} denies {d['leg']}: packets between "
                               "the load balancer and the tasks are dropped, so health checks and requests time out.",
                       resources=resources, expected=expected, actual=actual, evidence=evidence)
    return Outcome("pass", f"Network ACLs {', '.join(acl_ids)} allow the load balancer to reach tcp/"
                           f"{', '.join(map(str, ports))} in the task subnets and the replies back.",
                   resources=resources, expected=expected, actual="allowed on every leg", evidence=evidence)


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
