"""Where each check of a run shows on the request-path diagram: pinned to the element or link it judges.

A built-in check has a fixed anchor (an element of a hop, or a link between two hops); any other check is pinned
by the hop the catalogue gives it. Among the candidates, a finding lands on those its evidence or resources name,
so a failing link is the one that breaks, not every link of its hop.
"""

from __future__ import annotations

from typing import Any

from shine_ops.report.diagram_build import PathBuilder
from shine_ops.report.diagram_model import Diagram, Link

# Where each built-in check is judged: an element of a hop, or a link between two hops.
NODE_ANCHORS = {
    "dns.record-exists": "record",
    "alb.active": "load_balancer",
    "alb.idle-timeout-covers-latency": "load_balancer",
    "listener.https-certificate": "listener",
    "listener.http-redirects-https": "listener",
    "tg.health-check-matches-app": "target_group",
    "tg.targets-healthy": "targets",
    "ecs.service-running": "service",
    "ecs.grace-period-covers-startup": "service",
    "ecs.tasks-not-crashing": "service",
    "ecs.port-env-matches-container": "task_definition",
}
LINK_ANCHORS = {
    "dns.points-to-service-alb": ("record", "load_balancer"),
    "dns.resolves-to-alb": ("record", "load_balancer"),
    "alb.sg-allows-listener": ("load_balancer", "listener"),
    "listener.routes-to-service": ("rule", "target_group"),
    "tg.port-matches-container": ("target_group", "targets"),
    "tg.targets-registered": ("target_group", "targets"),
    "sg.alb-to-task-ingress": ("target_group", "targets"),
    "sg.alb-egress-to-task": ("target_group", "targets"),
    "nacl.alb-to-task": ("target_group", "targets"),
    "sg.task-not-open-to-world": ("target_group", "targets"),
    "ecs.lb-container-matches-taskdef": ("service", "task_definition"),
}
# Any other check (a user's own, drift, the live probes) is pinned by the hop the catalogue gives it.
HOP_ANCHORS: dict[str, Any] = {
    "dns": "record", "load_balancer": "load_balancer", "listener": "listener", "target_group": "target_group",
    "targets": "targets", "service": "service", "task_definition": "task_definition",
    "network": ("target_group", "targets"), "app": "service",
}


def pin(d: Diagram, b: PathBuilder, finding: Any) -> None:
    """Record ``finding``'s status on the elements or links it judges; a root cause with nowhere to go is
    ``unplaced`` (the report still lists it)."""
    status = "warn" if finding.status == "fail" and finding.suppressed else finding.status
    anchor = NODE_ANCHORS.get(finding.check) or LINK_ANCHORS.get(finding.check) or HOP_ANCHORS.get(finding.hop)
    if finding.hop == "app" and status == "fail" and finding.check not in d.root_causes:
        return  # a live probe failing through a broken path says nothing about the service: its causes are drawn
    if anchor is None:
        if status == "fail" and finding.check in d.root_causes:
            d.unplaced.append(finding.check)
        return
    if isinstance(anchor, tuple):
        hop_of = {e.id: e.hop for e in d.elements}
        cands: list[Any] = [l for l in d.links if (hop_of[l.source], hop_of[l.target]) == anchor]
    else:
        cands = d.by_hop(anchor)
    chosen = _narrow(d, b, finding, cands) if cands else []
    if not chosen:
        if status == "fail" and finding.check in d.root_causes:
            d.unplaced.append(finding.check)
        return
    for c in chosen:
        c.checks[finding.check] = status


def _narrow(d: Diagram, b: PathBuilder, finding: Any, cands: list[Any]) -> list[Any]:
    """The candidates a finding is about: the check's own evidence first, then the resources it cites, then the
    elements on the service's path, then all of them."""
    if finding.status == "fail":
        special = _SPECIAL.get(finding.check)
        if special:
            got = special(d, b, finding, cands)
            if got:
                return got
    cited = set(finding.resources or [])
    hit = [c for c in cands if c.refs & cited]
    if hit:
        return hit
    on = [c for c in cands if c.on_path]
    return on or cands


def _wrong_lb(d: Diagram, b: PathBuilder, finding: Any, links: list[Link]) -> list[Link]:
    """dns.points-to-service-alb: the record links that reach anything but the service's load balancers."""
    right = {b.ids.get(("load_balancer", a)) for a in b.path.service_lb_arns(b.snap)}
    return [l for l in links if l.target not in right]


def _wrong_rule(d: Diagram, b: PathBuilder, finding: Any, links: list[Link]) -> list[Any]:
    """listener.routes-to-service: the rule each service path lands on instead, from the check's routes."""
    out: list[Any] = []
    for r in (finding.evidence or {}).get("routes") or []:
        lb = next((x for x in b.snap.load_balancers.values() if x.name == r.get("load_balancer")), None)
        if lb is None:
            continue
        lst = next((x for x in b.snap.listeners_of(lb.arn) if x.label == r.get("listener")), None)
        if lst is None:
            continue
        rule_key = None
        for rule in b.snap.rules_of(lst.arn):
            if rule.label == r.get("rule") or (rule.is_default and r.get("rule") in ("default action", "default")):
                rule_key = rule.arn
                break
        if rule_key is None and r.get("rule") in ("default action", "default"):
            rule_key = f"{lst.arn}/default"
        rid = b.ids.get(("rule", rule_key)) if rule_key else None
        if rid is None:
            continue
        to_tg = [l for l in links if l.source == rid and l.target not in
                 {b.ids.get(("target_group", t)) for t in b.service_tgs}]
        if to_tg:
            out += [l for l in to_tg if l not in out]
        elif not any(l.source == rid for l in links):  # a redirect or fixed response: the rule itself
            el = d.element(rid)
            if el not in out:
                out.append(el)
    return out


def _closed_ports(d: Diagram, b: PathBuilder, finding: Any, links: list[Link]) -> list[Link]:
    """alb.sg-allows-listener: the listeners whose port the load balancer's security groups do not admit."""
    out = []
    for entry in (finding.evidence or {}).get("load_balancers") or []:
        lb = next((x for x in b.snap.load_balancers.values() if x.name == entry.get("load_balancer")), None)
        if lb is None:
            continue
        ports = {int(p) for p, v in (entry.get("ports") or {}).items() if str(v) == "not admitted"}
        for lst in b.snap.listeners_of(lb.arn):
            if lst.port in ports:
                key = (b.ids.get(("load_balancer", lb.arn)), b.ids.get(("listener", lst.arn)))
                out += [l for l in links if l.key == key]
    return out


_SPECIAL = {"dns.points-to-service-alb": _wrong_lb, "listener.routes-to-service": _wrong_rule,
            "alb.sg-allows-listener": _closed_ports}
