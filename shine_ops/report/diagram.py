"""The request path as ONE graph model, and its text renderings (Mermaid ``flowchart LR``, Graphviz DOT).

record -> load balancer -> listener -> rule -> target group -> targets -> service -> task definition, the same
elements ``map``'s tree shows (read from the snapshot, not from the tree's text, so the two can change apart).
Every check of the run is pinned to the element or link it judges, so one picture says where the path breaks:
a failing link is red and carries its check id, root causes carry their number (request-path order, as in the
report), security groups sit on the links they govern (the load balancer's on load balancer -> listener, the
tasks' on target group -> targets). Names are short; the full ARN is each element's title (hover).

Pure: no AWS calls. The drawings: ``shine_ops.report.diagram_text`` (Mermaid, DOT), ``shine_ops.report.svg``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from shine_ops.topology import path as P
from shine_ops.topology.snapshot import Snapshot

HOPS = ("record", "load_balancer", "listener", "rule", "target_group", "targets", "service", "task_definition")
HOP_TITLES = {"record": "DNS record", "load_balancer": "Load balancer", "listener": "Listener", "rule": "Rule",
              "target_group": "Target group", "targets": "Targets", "service": "ECS service",
              "task_definition": "Task definition"}
ID_PREFIX = {"record": "rec", "load_balancer": "lb", "listener": "lst", "rule": "rule", "target_group": "tg",
             "targets": "tgt", "service": "svc", "task_definition": "td"}
# Worst first: an element or link shows the worst status of the checks pinned to it.
STATUS_ORDER = ("fail", "error", "warn", "pass", "skip")

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


@dataclass
class Element:
    """One box of the diagram: a resource of one hop."""

    id: str
    hop: str
    name: str  # short, what people call it
    detail: str = ""  # one short line under the name
    title: str = ""  # the full ARN and details: the hover text
    on_path: bool = True  # False: shown for context (another rule's target group), drawn muted
    refs: set[str] = field(default_factory=set, repr=False)  # ARNs/ids/names findings may cite
    checks: dict[str, str] = field(default_factory=dict)  # check id -> status, for checks pinned here

    @property
    def status(self) -> str:
        return worst(self.checks.values())


@dataclass
class Link:
    """One arrow: traffic from ``source`` to ``target``, with what governs it (security groups, weights)."""

    source: str
    target: str
    label: str = ""  # short: security group names, a weight
    title: str = ""  # hover: full security group ids and names
    security_groups: list[str] = field(default_factory=list)  # ids
    on_path: bool = True
    refs: set[str] = field(default_factory=set, repr=False)
    checks: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return worst(self.checks.values())

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.target)


@dataclass
class Diagram:
    """The request path as elements and links, plus which failing checks are root causes (numbered)."""

    title: str
    elements: list[Element] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    root_causes: list[str] = field(default_factory=list)  # in the report's order: number = index + 1
    unplaced: list[str] = field(default_factory=list)  # root causes with no element or link to pin them to

    def element(self, eid: str) -> Element:
        return next(e for e in self.elements if e.id == eid)

    def by_hop(self, hop: str) -> list[Element]:
        return [e for e in self.elements if e.hop == hop]

    def number(self, check: str) -> int | None:
        """The root-cause number of ``check`` (1-based), None when it is no root cause."""
        return self.root_causes.index(check) + 1 if check in self.root_causes else None

    def failing(self, checks: dict[str, str]) -> list[str]:
        """Failing check ids, root causes first in their order, then the consequences."""
        bad = [c for c, s in checks.items() if s == "fail"]
        return sorted(bad, key=lambda c: (self.number(c) or 999, c))

    @property
    def empty(self) -> bool:
        return not self.elements

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "root_causes": self.root_causes,
                "elements": [{"id": e.id, "hop": e.hop, "name": e.name, "detail": e.detail, "title": e.title,
                              "status": e.status, "on_path": e.on_path, "checks": e.checks} for e in self.elements],
                "links": [{"source": l.source, "target": l.target, "label": l.label, "status": l.status,
                           "security_groups": l.security_groups, "on_path": l.on_path, "checks": l.checks}
                          for l in self.links]}


def worst(statuses: Iterable[str]) -> str:
    """The worst status of a set ("none" when no check judged it)."""
    got = set(statuses)
    return next((s for s in STATUS_ORDER if s in got), "none")


def root_causes_of(findings: list[Any]) -> list[str]:
    """The same rule as ``Report.root_causes``: failing, not suppressed, explained by no other failure."""
    failing = {f.check for f in findings if f.status == "fail" and not f.suppressed}
    return [f.check for f in findings if f.check in failing and not (set(f.explained_by) & failing)]


# --------------------------------------------------------------------------- building the model
class _Builder:
    def __init__(self, snap: Snapshot, path: P.RequestPath) -> None:
        self.snap, self.path = snap, path
        self.d = Diagram(title="")
        self.ids: dict[tuple[str, str], str] = {}  # (hop, key) -> element id
        self.counts: dict[str, int] = {}
        self.svc = path.service
        self.service_tgs = set(self.svc.target_group_arns) if self.svc else set()

    def element(self, hop: str, key: str, name: str, **kw: Any) -> tuple[Element, bool]:
        """The element for (hop, key), created on first use; returns (element, created)."""
        if (hop, key) in self.ids:
            return self.d.element(self.ids[(hop, key)]), False
        self.counts[hop] = self.counts.get(hop, 0) + 1
        el = Element(id=f"{ID_PREFIX[hop]}{self.counts[hop]}", hop=hop, name=name, **kw)
        el.refs |= {key, name}
        self.ids[(hop, key)] = el.id
        self.d.elements.append(el)
        return el, True

    def link(self, src: Element, dst: Element, **kw: Any) -> Link:
        for l in self.d.links:
            if l.key == (src.id, dst.id):
                return l
        l = Link(source=src.id, target=dst.id, **kw)
        l.refs |= src.refs | dst.refs | set(l.security_groups)
        self.d.links.append(l)
        return l

    def sg_text(self, ids: list[str]) -> tuple[str, str]:
        """(short label, full hover text) for a list of security group ids."""
        groups = [self.snap.security_groups.get(g) for g in ids]
        short = ", ".join(g.name if g and g.name else gid for g, gid in zip(groups, ids))
        full = ", ".join(g.label if g else f"{gid} (not found)" for g, gid in zip(groups, ids))
        return (f"SG {short}" if short else ""), full

    # -- hops, left to right --------------------------------------------------------------------
    def build(self) -> Diagram:
        path, snap = self.path, self.snap
        shown: set[str] = set()
        for i, b in enumerate(path.branches):
            rec = self.record(b, i)
            if b.lb_arn and b.lb_arn in snap.load_balancers:
                self.link(rec, self.load_balancer(b.lb_arn))
                shown.add(b.lb_arn)
            elif b.external or b.lb_arn:
                ext, _ = self.element("load_balancer", f"external:{b.external or b.lb_arn}",
                                      _short_dns(b.external or b.lb_arn or "?"), detail="not in this account",
                                      title=f"{b.external or b.lb_arn}: not a load balancer of this account")
                self.link(rec, ext)
        if path.domain and not path.branches:
            self.element("record", f"missing:{path.domain}", path.domain, detail="no record",
                         title=f"{path.domain}: no A/AAAA/CNAME record in the account's zones")
        for arn in path.service_lb_arns(snap):
            if arn not in shown and arn in snap.load_balancers:
                self.load_balancer(arn)
        if self.svc:
            for tg in self.svc.target_group_arns:  # a service target group no listener reaches still shows
                self.target_group(tg)
            self.service()
        elif path.requested_service:
            self.element("service", f"missing:{path.requested_service}", path.requested_service.split("/")[-1],
                         detail="not found", title=f"{path.requested_service}: ECS reports no such active service")
        return self.d

    def record(self, b: P.Branch, i: int) -> Element:
        first = b.chain[0]
        kinds = " -> ".join(r.type + (" alias" if r.alias_dns else "") for r in b.chain)
        if first.set_identifier:
            weight = f", weight {first.weight}" if first.weight is not None else ""
            kinds += f" [{first.set_identifier}{weight}]"
        where = b.external or (self.snap.load_balancers[b.lb_arn].dns_name if b.lb_arn in self.snap.load_balancers
                               else "")
        el, _ = self.element("record", f"branch:{i}:{b.label}", first.name, detail=kinds,
                             title=f"{b.label} -> {where}".strip(" ->"))
        el.refs |= {f"{r.zone_id}/{r.name}/{r.type}" for r in b.chain} | {r.name for r in b.chain}
        return el

    def load_balancer(self, arn: str) -> Element:
        lb = self.snap.load_balancers[arn]
        kind = {"application": "ALB", "network": "NLB", "gateway": "GWLB"}.get(lb.type, lb.type)
        el, created = self.element("load_balancer", arn, lb.name, detail=f"{kind}, {lb.scheme}, {lb.state}",
                                   title=f"{arn}\n{lb.dns_name}")
        if not created:
            return el
        sg_short, sg_full = self.sg_text(lb.security_groups)
        for lst in self.snap.listeners_of(arn):
            ln = self.listener(lst)
            self.link(el, ln, label=sg_short, security_groups=list(lb.security_groups),
                      title=f"security groups of {lb.name}: {sg_full}" if sg_full else "")
        return el

    def listener(self, lst: Any) -> Element:
        el, _ = self.element("listener", lst.arn, lst.label, title=lst.arn)
        rules = self.snap.rules_of(lst.arn)
        for rule in rules:
            action = lst.default_action if rule.is_default else rule.action
            self.rule(el, lst, rule.arn, rule, action)
        if not rules:
            self.rule(el, lst, f"{lst.arn}/default", None, lst.default_action)
        return el

    def rule(self, lst_el: Element, lst: Any, key: str, rule: Any, action: Any) -> None:
        names = self.snap.tg_names()
        default = rule is None or rule.is_default
        name = "default" if default else f"priority {rule.priority}"
        conds = "" if default else "; ".join(_condition_text(c) for c in rule.conditions)
        does = action.describe(names)
        detail = conds if action.type == "forward" else (f"{conds}: " if conds else "") + _short_action(action)
        to_service = bool(set(action.forwarded_tgs) & self.service_tgs)
        el, _ = self.element("rule", key, name, detail=detail, on_path=to_service,
                             title=f"{lst.label} {rule.label if rule else 'default'}: {does}\n{key}")
        if rule is None:
            el.refs.add("default action")
        self.link(lst_el, el, on_path=to_service)
        for tg_arn, weight in action.target_groups.items():
            tg = self.target_group(tg_arn)
            self.link(el, tg, label=f"weight {weight}" if len(action.target_groups) > 1 else "",
                      on_path=tg_arn in self.service_tgs)

    def target_group(self, arn: str) -> Element:
        tg = self.snap.target_groups.get(arn)
        on = arn in self.service_tgs
        if tg is None:
            el, _ = self.element("target_group", arn, arn.split("/")[-2] if "/" in arn else arn, detail="not found",
                                 title=f"{arn} (no longer exists)", on_path=on)
            return el
        hc = tg.health_check
        el, created = self.element("target_group", arn, tg.name,
                                   detail=f"{tg.protocol or tg.target_type}:{tg.port}, health {hc.path or hc.protocol}",
                                   title=f"{arn}\nhealth check {hc.protocol} port {hc.port} {hc.path or ''} "
                                         f"matcher {hc.matcher or '-'}", on_path=on)
        if created and (tg.targets is not None or on):
            tgt = self.targets(tg, on)
            link = {}
            if on and self.svc:
                sg_short, sg_full = self.sg_text(self.svc.security_groups)
                lb_sgs = [g for lb in self.snap.lbs_forwarding_to(arn) for g in lb.security_groups]
                ports = sorted({m.container_port for m in self.svc.load_balancers
                                if m.target_group_arn == arn and m.container_port})
                port_txt = f"tcp/{tg.port}" + (f" \u2192 container {', '.join(map(str, ports))}" if ports else "")
                link = {"label": (sg_short + ", " if sg_short else "") + port_txt,
                        "security_groups": list(dict.fromkeys(self.svc.security_groups + lb_sgs)),
                        "title": f"task security groups: {sg_full or 'none'}; load balancer security groups: "
                                 f"{self.sg_text(lb_sgs)[1] or 'none'}; {port_txt}"}
            self.link(el, tgt, on_path=on, **link)
        return el

    def targets(self, tg: Any, on_path: bool) -> Element:
        ts = tg.targets
        if ts is None:
            name, detail, title = "targets", "not collected", "target health was not collected"
        elif not ts:
            name, detail, title = "no targets", "none registered", f"{tg.name} has no registered target"
        else:
            states: dict[str, int] = {}
            for t in ts:
                states[t.state] = states.get(t.state, 0) + 1
            name = f"{len(ts)} target" + ("s" if len(ts) != 1 else "")
            detail = ", ".join(f"{n} {s}" for s, n in states.items())
            if any(t.simulated for t in ts):
                detail += " (simulated)"
            title = "\n".join(f"{t.id}:{t.port} {t.state}" + (f" {t.reason}" if t.reason else "")
                              + (f": {t.description}" if t.description else "") for t in ts)
        el, _ = self.element("targets", tg.arn, name, detail=detail, title=title, on_path=on_path)
        el.refs |= {tg.arn} | {f"{t.id}:{t.port}" for t in ts or []}
        return el

    def service(self) -> None:
        svc = self.svc
        assert svc is not None
        el, _ = self.element("service", svc.arn, svc.name, detail=f"{svc.cluster_name}, {svc.running}/{svc.desired} "
                             f"running", title=f"{svc.arn}\n{svc.status}, {svc.running}/{svc.desired} running, "
                             f"{svc.pending} pending")
        el.refs |= {svc.key}
        for tg in svc.target_group_arns:
            tgt_id = self.ids.get(("targets", tg))
            if tgt_id:
                self.link(self.d.element(tgt_id), el)
        td = self.path.task_definition(self.snap)
        if td is None:
            if svc.task_definition:
                ref = svc.task_definition.split("/")[-1]
                t, _ = self.element("task_definition", svc.task_definition, ref, detail="not found",
                                    title=svc.task_definition)
                self.link(el, t)
            return
        mapping = ", ".join(f"{m.container_name}:{m.container_port}" for m in svc.load_balancers
                            if m.container_name)
        parts = []
        for c in td.containers:
            env = c.environment.get("PORT")
            parts.append(f"{c.name} :{','.join(map(str, c.container_ports)) or '-'}" + (f" PORT={env}" if env else ""))
        t, _ = self.element("task_definition", td.arn, td.label, detail="; ".join(parts),
                            title=f"{td.arn}\n" + "\n".join(parts))
        t.refs |= {td.label}
        self.link(el, t, label=f"container {mapping}" if mapping else "", title=f"load balancer mapping: {mapping}")


def _condition_text(c: Any) -> str:
    if c.field == "path-pattern":
        return ", ".join(c.values)
    if c.field == "host-header":
        return "host " + ", ".join(c.values)
    return f"{c.field} " + ", ".join(c.values)


def _short_action(action: Any) -> str:
    if action.type == "redirect" and action.redirect:
        r = action.redirect
        return f"redirect {r.get('Protocol', '#{protocol}')}:{r.get('Port', '#{port}')}"
    if action.type == "fixed-response" and action.fixed_response:
        return f"fixed {action.fixed_response.get('StatusCode')}"
    return action.type


def _short_dns(name: str) -> str:
    m = re.match(r"^(.*?)-\d+\.[a-z0-9-]+\.elb\.amazonaws\.com", name)
    return m.group(1) if m else name


# --------------------------------------------------------------------------- pinning the checks
def _pin(d: Diagram, b: _Builder, finding: Any) -> None:
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


def _narrow(d: Diagram, b: _Builder, finding: Any, cands: list[Any]) -> list[Any]:
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


def _wrong_lb(d: Diagram, b: _Builder, finding: Any, links: list[Link]) -> list[Link]:
    """dns.points-to-service-alb: the record links that reach anything but the service's load balancers."""
    right = {b.ids.get(("load_balancer", a)) for a in b.path.service_lb_arns(b.snap)}
    return [l for l in links if l.target not in right]


def _wrong_rule(d: Diagram, b: _Builder, finding: Any, links: list[Link]) -> list[Any]:
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


def _closed_ports(d: Diagram, b: _Builder, finding: Any, links: list[Link]) -> list[Link]:
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


def build_diagram(snap: Snapshot, path: P.RequestPath, findings: list[Any] | None = None,
                  root_causes: list[str] | None = None, title: str | None = None) -> Diagram:
    """The diagram of one request path, with every finding pinned where it judges."""
    b = _Builder(snap, path)
    d = b.build()
    findings = findings or []
    d.root_causes = list(root_causes) if root_causes is not None else root_causes_of(findings)
    svc = path.service.key if path.service else path.requested_service
    d.title = title or " \u2192 ".join(x for x in (path.domain, svc) if x) or "request path"
    for f in findings:
        _pin(d, b, f)
    rank = {e.id: (HOPS.index(e.hop), i) for i, e in enumerate(d.elements)}
    d.links.sort(key=lambda l: (rank[l.source], rank[l.target]))  # hop by hop, as people read the path
    return d


def diagram_for(report: Any) -> Diagram | None:
    """The diagram of a report's request path; None for account-wide reports or when nothing was collected."""
    if report.snapshot is None or report.request_path is None or report.snapshot.account_wide:
        return None
    d = build_diagram(report.snapshot, report.request_path, report.findings, report.root_causes)
    return None if d.empty else d


# --------------------------------------------------------------------------- short names
_ARN_SHORT = [
    (re.compile(r"^arn:aws[\w-]*:elasticloadbalancing:[^:]*:\d*:loadbalancer/(?:app|net|gwy)/([^/]+)/"), r"\1"),
    (re.compile(r"^arn:aws[\w-]*:elasticloadbalancing:[^:]*:\d*:targetgroup/([^/]+)/"), r"\1"),
    (re.compile(r"^arn:aws[\w-]*:elasticloadbalancing:[^:]*:\d*:listener/(?:app|net|gwy)/([^/]+)/[^/]+/([^/]+)$"),
     r"\1 listener \2"),
    (re.compile(r"^arn:aws[\w-]*:elasticloadbalancing:[^:]*:\d*:listener-rule/(?:app|net)/([^/]+)/[^/]+/[^/]+/"
                r"([^/]+)$"), r"\1 rule \2"),
    (re.compile(r"^arn:aws[\w-]*:ecs:[^:]*:\d*:task-definition/(.+)$"), r"\1"),
    (re.compile(r"^arn:aws[\w-]*:ecs:[^:]*:\d*:service/(.+)$"), r"\1"),
    (re.compile(r"^arn:aws[\w-]*:ecs:[^:]*:\d*:cluster/(.+)$"), r"cluster \1"),
    (re.compile(r"^arn:aws[\w-]*:acm:[^:]*:\d*:certificate/([0-9a-f]{8})[0-9a-f-]*$"), r"certificate \1"),
]


def short_name(ref: str, snap: Snapshot | None = None) -> str:
    """What people call a resource: the name inside its ARN (a listener as ``lb HTTPS:443`` when the snapshot
    knows it, a security group as its group name), never the whole ARN."""
    if snap is not None:
        if ref in snap.listeners:
            lst = snap.listeners[ref]
            lb = snap.load_balancers.get(lst.lb_arn)
            return f"{lb.name if lb else 'listener'} {lst.label}"
        if ref in snap.security_groups and snap.security_groups[ref].name:
            return snap.security_groups[ref].name
        for rules in snap.rules.values():
            for r in rules:
                if r.arn == ref:
                    lst = snap.listeners.get(r.listener_arn)
                    return f"{lst.label if lst else 'listener'} rule {'default' if r.is_default else r.priority}"
    for rx, repl in _ARN_SHORT:
        m = rx.match(ref)
        if m:
            return m.expand(repl)
    if ref.startswith("arn:"):
        return ref.split(":", 5)[-1].split("/")[-1] or ref
    return ref


# --------------------------------------------------------------------------- how every renderer colours things
def check_label(d: Diagram, check: str) -> str:
    """``(1) check.id`` for a root cause, the bare id for a consequence."""
    n = d.number(check)
    return f"({n}) {check}" if n else check


def element_class(e: Element) -> str:
    """fail/error/warn/pass as judged; "none" when no check judged it; "muted" for context off the path."""
    st = e.status
    if st == "none" and not e.on_path:
        return "muted"
    if st in ("skip", "none"):
        return "none"
    return st


def link_class(l: Link) -> str:
    """As ``element_class``, for a link."""
    st = l.status
    if st in ("fail", "error", "warn", "pass"):
        return st
    return "none" if l.on_path else "muted"
