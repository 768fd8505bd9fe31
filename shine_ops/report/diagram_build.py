"""The request-path diagram's elements and links, read from the snapshot hop by hop, left to right.

record -> load balancer -> listener -> rule -> target group -> targets -> service -> task definition: the elements
``map``'s tree shows, read from the snapshot rather than from the tree's text, so the two can change apart.
Security groups sit on the links they govern (the load balancer's on load balancer -> listener, the tasks' on
target group -> targets); names are short and the full ARN is each element's title.
"""

from __future__ import annotations

import re
from typing import Any

from shine_ops.report.diagram_model import ID_PREFIX, Diagram, Element, Link
from shine_ops.topology import path as P
from shine_ops.topology.snapshot import Snapshot


class PathBuilder:
    """Builds one diagram: an element per resource (created once, on first use, with the ARNs, ids and names a
    finding may cite as its ``refs``) and a link per hop of traffic, record to task definition."""

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
        detail = (conds if action.type == "forward"
                  else (f"{conds}: " if conds else "") + action.describe(names, short=True))
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


def _short_dns(name: str) -> str:
    m = re.match(r"^(.*?)-\d+\.[a-z0-9-]+\.elb\.amazonaws\.com", name)
    return m.group(1) if m else name
