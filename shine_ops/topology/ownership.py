"""Who reaches what, account-wide (pure: no AWS calls): the records that reach each load balancer, the target
groups each one forwards to, the services behind them, and the tree ``shine-ops map --all`` draws."""

from __future__ import annotations

from typing import Any

from shine_ops.topology import path as P
from shine_ops.topology.model import LoadBalancer, Service
from shine_ops.topology.snapshot import Snapshot


def record_names(snap: Snapshot) -> list[str]:
    """Every name of the account's zones that can resolve to an address (A, AAAA, CNAME)."""
    return sorted({r.name for r in snap.records if r.type in ("A", "AAAA", "CNAME")})


def records_reaching(snap: Snapshot) -> dict[str, list[str]]:
    """load balancer ARN -> the record names whose resolution (alias, CNAME chain, A-record IPs on its network
    interfaces) ends at it; every load balancer is a key, those nothing reaches map to []."""
    out: dict[str, list[str]] = {arn: [] for arn in snap.load_balancers}
    for name in record_names(snap):
        for b in P.branches(snap, name):
            if b.lb_arn and b.lb_arn in out and name not in out[b.lb_arn]:
                out[b.lb_arn].append(name)
    return out


def forwards_of(snap: Snapshot, lb_arn: str) -> dict[str, list[str]]:
    """target group ARN -> where this load balancer forwards to it (``HTTPS:443 default``, ``HTTP:80 priority
    10 (...)``); forwards with weight 0 carry no traffic and are left out."""
    out: dict[str, list[str]] = {}
    for lst in snap.listeners_of(lb_arn):
        rules = snap.rules_of(lst.arn)
        actions = [(r.label, r.action) for r in rules]
        if not any(r.is_default for r in rules):
            actions.append(("default", lst.default_action))
        for label, action in actions:
            for tg in action.forwarded_tgs:
                out.setdefault(tg, []).append(f"{lst.label} {label}")
    return out


def referenced_tgs(snap: Snapshot) -> set[str]:
    """Target groups any listener or rule of the account names (any weight)."""
    out: set[str] = set()
    for lst in snap.listeners.values():
        out.update(lst.default_action.target_groups)
        for r in snap.rules.get(lst.arn, []):
            out.update(r.action.target_groups)
    return out


def lbs_routing_to(snap: Snapshot, svc: Service) -> list[LoadBalancer]:
    """Load balancers with a listener or rule that forwards (weight > 0) to one of the service's target groups."""
    tgs = set(svc.target_group_arns)
    return [lb for lb in sorted(snap.load_balancers.values(), key=lambda l: l.name)
            if tgs & set(forwards_of(snap, lb.arn))]


def services_without_traffic_path(snap: Snapshot) -> list[Service]:
    """Services that run (or want) tasks behind target groups, but that no record -> load balancer -> listener or
    rule reaches: they cost money and serve nobody. Services without load balancers (workers) are not counted."""
    reached = records_reaching(snap)
    live_tgs: set[str] = set()
    for lb_arn, names in reached.items():
        if names:
            live_tgs |= set(forwards_of(snap, lb_arn))
    return sorted((s for s in snap.services.values()
                   if s.target_group_arns and max(s.desired, s.running) > 0
                   and not set(s.target_group_arns) & live_tgs), key=lambda s: s.key)


# --------------------------------------------------------------------------- map --all
def build_ownership(snap: Snapshot) -> dict[str, Any]:
    """domain -> load balancer -> listener/rule -> target group -> services, and every load balancer with the
    records that reach it (none: orphaned)."""
    reached = records_reaching(snap)

    def tg_entry(arn: str, where: list[str]) -> dict[str, Any]:
        tg = snap.target_groups.get(arn)
        return {"target_group": tg.name if tg else arn, "arn": arn, "via": where,
                "targets": len(tg.targets) if tg and tg.targets is not None else None,
                "services": sorted(s.key for s in snap.services_using(arn))}

    def lb_entry(lb: LoadBalancer) -> dict[str, Any]:
        return {"name": lb.name, "arn": lb.arn, "dns_name": lb.dns_name, "type": lb.type, "state": lb.state,
                "records": reached.get(lb.arn, []), "orphaned": not reached.get(lb.arn),
                "listeners": [lst.label for lst in snap.listeners_of(lb.arn)],
                "target_groups": [tg_entry(arn, where) for arn, where in sorted(
                    forwards_of(snap, lb.arn).items(), key=lambda kv: snap.tg_name(kv[0]))]}

    lbs = sorted(snap.load_balancers.values(), key=lambda l: l.name)
    domains = []
    for name in record_names(snap):
        branches = []
        for b in P.branches(snap, name):
            lb = snap.load_balancers.get(b.lb_arn) if b.lb_arn else None
            branches.append({"chain": b.label, "load_balancer": lb.name if lb else None,
                             "external": b.external})
        domains.append({"name": name, "branches": branches})
    return {"domains": domains, "load_balancers": [lb_entry(lb) for lb in lbs],
            "orphaned_load_balancers": [lb.name for lb in lbs if not reached.get(lb.arn)],
            "services_without_traffic_path": [s.key for s in services_without_traffic_path(snap)]}


def render_ownership(own: dict[str, Any], *, color: bool = False, width: int = 120) -> str:
    """The ownership map as two rich trees: domains first, then load balancers with the records reaching them."""
    import io

    from rich.console import Console
    from rich.text import Text
    from rich.tree import Tree

    lbs = {lb["name"]: lb for lb in own["load_balancers"]}

    def add_lb(node: Tree, lb: dict[str, Any]) -> None:
        for tg in lb["target_groups"]:
            svcs = ", ".join(tg["services"]) or "no ECS service"
            tgn = node.add(Text(f"{', '.join(tg['via'])} -> target group {tg['target_group']} -> {svcs}"))
            del tgn

    buf = io.StringIO()
    con = Console(file=buf, force_terminal=color, color_system="standard" if color else None, width=width,
                  highlight=False, soft_wrap=False)
    domains = Tree(Text("Domains", style="bold"))
    for d in own["domains"]:
        dn = domains.add(Text(d["name"]))
        for b in d["branches"]:
            if b["load_balancer"]:
                add_lb(dn.add(Text(f"{b['chain']} -> load balancer {b['load_balancer']}")), lbs[b["load_balancer"]])
            else:
                dn.add(Text(f"{b['chain']} -> {b['external']} (no load balancer of this account)", style="dim"))
    con.print(domains)
    tree = Tree(Text("Load balancers", style="bold"))
    for lb in own["load_balancers"]:
        reach = ", ".join(lb["records"]) if lb["records"] else "no record reaches it (orphaned)"
        node = tree.add(Text(f"{lb['name']} ({lb['type']}, {lb['state']}) <- {reach}",
                             style="yellow" if lb["orphaned"] else ""))
        add_lb(node, lb)
        if not lb["target_groups"]:
            node.add(Text("forwards to no target group", style="dim"))
    con.print(tree)
    if own["services_without_traffic_path"]:
        con.print(Text("Services no record reaches: " + ", ".join(own["services_without_traffic_path"]),
                       style="yellow"))
    return buf.getvalue()
