"""Network hop: the network ACLs between the load balancer's subnets and the task subnets, both ways.

A network ACL is stateless: the request to the container port and the reply to an ephemeral port are judged
apart, in each subnet's ACL, rule by rule in rule-number order (docs/aws-behaviour.md section 7;
https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html).
"""

from __future__ import annotations

import ipaddress

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip
from shine_ops.evaluators.network import lb_to_tasks

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
    found = lb_to_tasks(ctx, awsvpc_groups=False)
    if isinstance(found, Outcome):
        return found
    snap, svc, lbs, ports = ctx.snapshot, found.svc, found.lbs, found.ports
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
            a_cidr, t_cidr = snap.subnets[a].cidr or "no CIDR described", snap.subnets[t].cidr or "no CIDR described"
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
