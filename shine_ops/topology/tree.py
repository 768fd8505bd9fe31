"""The request path as a tree (for ``shine-ops map``): plain nested dicts, rendered by rich or as JSON."""

from __future__ import annotations

from typing import Any

from shine_ops.topology import path as P
from shine_ops.topology import rules as R
from shine_ops.topology.snapshot import Snapshot


def _node(kind: str, label: str, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "label": label, **{k: v for k, v in extra.items() if v not in (None, [], {})},
            "children": []}


def build_tree(snap: Snapshot, path: P.RequestPath, marks: dict[str, str] | None = None) -> dict[str, Any]:
    """record -> load balancer -> listener -> rule -> target group -> targets -> service -> task definition."""
    marks = marks or {}
    svc = path.service
    service_tgs = set(svc.target_group_arns) if svc else set()

    def sg_labels(ids: list[str]) -> list[str]:
        return [snap.security_groups[g].label if g in snap.security_groups else g for g in ids]

    def tg_node(arn: str) -> dict[str, Any]:
        tg = snap.target_groups.get(arn)
        label = tg.label if tg else arn
        n = _node("target_group", label, arn=arn, checks=marks.get("target_group") if arn in service_tgs else None,
                  health_check=(f"{tg.health_check.protocol} {tg.health_check.port} {tg.health_check.path}"
                                if tg else None))
        if tg and tg.targets is not None:
            for t in tg.targets:
                sim = " (simulated)" if t.simulated else ""
                n["children"].append(_node("target", f"{t.id}:{t.port} {t.state}"
                                           + (f" {t.reason}" if t.reason else "") + sim))
        if svc and arn in service_tgs:
            td = path.task_definition(snap)
            sn = _node("service", f"{svc.key} ({svc.status}, {svc.running}/{svc.desired} running)",
                       arn=svc.arn, checks=marks.get("service"),
                       security_groups=sg_labels(svc.security_groups), network_checks=marks.get("network"))
            for m in svc.load_balancers:
                if m.target_group_arn == arn:
                    sn["mapping"] = f"container {m.container_name}:{m.container_port}"
            if td:
                tn = _node("task_definition", td.label, arn=td.arn)
                for c in td.containers:
                    env_port = c.environment.get("PORT")
                    tn["children"].append(_node("container", f"{c.name} ports {c.container_ports}"
                                                + (f" PORT={env_port}" if env_port else "")))
                sn["children"].append(tn)
            n["children"].append(sn)
        return n

    def lb_node(arn: str) -> dict[str, Any]:
        lb = snap.load_balancers[arn]
        n = _node("load_balancer", f"{lb.name} ({lb.type}, {lb.scheme}, {lb.state})", arn=arn, dns=lb.dns_name,
                  security_groups=sg_labels(lb.security_groups), checks=marks.get("load_balancer"))
        for lst in snap.listeners_of(arn):
            ln = _node("listener", lst.label, arn=lst.arn, checks=marks.get("listener"))
            reached = _domain_requests_by_rule(snap, lst, path.domain)
            for rule in snap.rules_of(lst.arn):
                chain = R.listener_chain(lst, rule) if rule.is_default else R.rule_chain(rule)
                rn = _node("rule", f"{rule.label}: {_chain_text(chain, snap)}", arn=rule.arn,
                           requests=reached.get(rule.arn), note=_rule_note(rule, chain, path.domain))
                rn["children"] = [tg_node(t) for t in chain.terminal.target_groups]
                ln["children"].append(rn)
            if not snap.rules_of(lst.arn):
                chain = R.listener_chain(lst)
                rn = _node("rule", f"default: {_chain_text(chain, snap)}", requests=reached.get("default"))
                rn["children"] = [tg_node(t) for t in chain.terminal.target_groups]
                ln["children"].append(rn)
            n["children"].append(ln)
        return n

    root = _node("request_path", path.domain or (svc.key if svc else "?"), checks=marks.get("dns"))
    shown: set[str] = set()
    for b in path.branches:
        rec = _node("record", b.label + (f" -> {b.external} (not a load balancer of this account)" if b.external else ""))
        if b.lb_arn:
            rec["children"].append(lb_node(b.lb_arn))
            shown.add(b.lb_arn)
        root["children"].append(rec)
    for arn in path.service_lb_arns(snap):
        if arn not in shown:
            n = lb_node(arn)
            n["label"] += " (serves the service; no record of the domain reaches it)"
            root["children"].append(n)
    return root


def _chain_text(chain: R.ActionChain, snap: Snapshot) -> str:
    """``authenticate-oidc, then forward to a (1), b (0: no traffic)``."""
    text = chain.terminal.describe(snap.tg_names())
    if chain.terminal.type == "forward" and len(chain.terminal.target_groups) > 1:
        for arn, w in chain.terminal.target_groups.items():
            if w == 0:
                name = snap.tg_name(arn)
                text = text.replace(f"{name} (0)", f"{name} (0: no traffic)")
    return "".join(f"{a.type}, then " for a in chain.auth) + text


def _rule_note(rule: Any, chain: R.ActionChain, domain: str | None) -> str | None:
    """Why a rule is not the domain's (another host) or cannot be judged (what the evaluator does not model)."""
    notes = [c.label + ": not modelled" for c in rule.conditions if c.regex_values or c.field not in R.CONDITION_FIELDS]
    notes += chain.unknown
    if getattr(rule, "transforms", None):
        notes.append("Transforms: not modelled")
    hosts = rule.values("host-header")
    if domain and hosts and not any(R.match_host(h, domain) for h in hosts):
        notes.append(f"another host than {domain}")
    return "; ".join(notes) or None


def _domain_requests_by_rule(snap: Snapshot, lst: Any, domain: str | None) -> dict[str, list[str]]:
    """Rule ARN (or "default") -> the domain's plain requests it decides (GET / and its rules' paths)."""
    if not domain:
        return {}
    out: dict[str, list[str]] = {}
    for jp in R.domain_paths(snap, lst, domain, None):
        ev = R.evaluate(snap, lst, jp.request(domain))
        key = ev.rule.arn if ev.rule else next((r.arn for r in snap.rules_of(lst.arn) if r.is_default), "default")
        out.setdefault(key, []).append(ev.request.describe() + (" (cannot judge)" if not ev.judged else ""))
    return out


def render_tree(tree: dict[str, Any], color: bool = True) -> str:
    import io

    from rich.console import Console
    from rich.tree import Tree

    style = {"fail": "bold red", "pass": "green", "warn": "yellow", "error": "magenta", "skip": "dim"}

    def label(n: dict[str, Any]) -> str:
        s = f"[bold]{n['kind']}[/bold] {_esc(n['label'])}"
        if n.get("checks"):
            s += f" [{style.get(n['checks'], '')}]\\[{n['checks']}][/]"
        if n.get("security_groups"):
            s += f" [dim]SG {', '.join(n['security_groups'])}[/dim]"
        if n.get("mapping"):
            s += f" [dim]{n['mapping']}[/dim]"
        if n.get("note"):
            s += f" [yellow]({_esc(n['note'])})[/yellow]"
        if n.get("requests"):
            s += f" [dim]<- {_esc(', '.join(n['requests']))}[/dim]"
        return s

    def add(t: Any, n: dict[str, Any]) -> None:
        if n.get("network_checks"):  # one status per line: the network between load balancer and tasks apart
            st = n["network_checks"]
            t.add(f"[bold]network[/bold] security groups and NACLs to the tasks [{style.get(st, '')}]\\[{st}][/]")
        for c in n["children"]:
            add(t.add(label(c)), c)

    tree_r = Tree(label(tree))
    add(tree_r, tree)
    buf = io.StringIO()
    Console(file=buf, force_terminal=color, color_system="standard" if color else None, width=160).print(tree_r)
    return buf.getvalue()


def _esc(text: str) -> str:
    return text.replace("[", "\\[")
