"""Request-path resolution over a snapshot (pure: no AWS calls).

domain -> record set(s) (alias, CNAME chain, weighted/latency branches, plain A records on ELB network
interfaces) -> load balancer -> listener -> first matching rule -> target group -> ECS service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from shine_ops.topology.model import Listener, LoadBalancer, RecordSet, Rule, Service, norm_dns
from shine_ops.topology.snapshot import Snapshot

MAX_CHAIN = 8


# --------------------------------------------------------------------------- ALB matching rules
@lru_cache(maxsize=512)
def _wildcard_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE if ignore_case else 0)


def match_path_pattern(pattern: str, path: str) -> bool:
    """ALB path patterns: case-sensitive, ``*`` any run of characters, ``?`` exactly one."""
    return bool(_wildcard_regex(pattern, False).match(path))


def match_host(pattern: str, host: str) -> bool:
    return bool(_wildcard_regex(pattern.lower(), True).match(host.lower()))


def sample_path(pattern: str) -> str:
    """A concrete request path that a service path pattern stands for (``/api/*`` -> ``/api/shine-ops-probe``)."""
    return pattern.replace("*", "shine-ops-probe").replace("?", "x")


def rule_matches(rule: Rule, host: str | None, path: str) -> tuple[bool, str | None]:
    """Does a plain ``GET host/path`` without special headers match ``rule``?

    Returns (matches, note). Conditions that depend on headers, query strings or source IPs cannot match
    a plain request; the note says so, so that a finding can state the assumption."""
    if rule.is_default:
        return True, None
    note = None
    for cond in rule.conditions:
        if cond.field == "path-pattern":
            if not any(match_path_pattern(v, path) for v in cond.values):
                return False, None
        elif cond.field == "host-header":
            if host is None:
                note = "host-header condition assumed to match (no domain given)"
                continue
            if not any(match_host(v, host) for v in cond.values):
                return False, None
        elif cond.field == "http-request-method":
            if not any(v.upper() in ("GET", "HEAD") for v in cond.values):
                return False, None
        else:
            return False, f"{cond.field} condition does not match a plain request"
    return True, note


@dataclass
class Route:
    """Where one request lands on one listener."""

    listener: Listener
    path: str
    rule: Rule | None  # None: the listener's default action
    matching: list[Rule]  # every rule that matches, in evaluation order (the first one wins)
    notes: list[str] = field(default_factory=list)

    @property
    def action(self):
        return self.rule.action if self.rule else self.listener.default_action

    @property
    def rule_label(self) -> str:
        return self.rule.label if self.rule else "default action"


def route(snapshot: Snapshot, listener: Listener, host: str | None, path: str) -> Route:
    matching: list[Rule] = []
    notes: list[str] = []
    for rule in snapshot.rules_of(listener.arn):
        if rule.is_default:
            continue
        ok, note = rule_matches(rule, host, path)
        if note:
            notes.append(f"{rule.label}: {note}")
        if ok:
            matching.append(rule)
    return Route(listener=listener, path=path, rule=matching[0] if matching else None, matching=matching,
                 notes=notes)


def entry_listeners(snapshot: Snapshot, lb: LoadBalancer) -> list[Listener]:
    """Listeners a client of the domain reaches: 443/80 that do not just redirect; else every non-redirect one."""
    listeners = [l for l in snapshot.listeners_of(lb.arn) if l.default_action.type != "redirect"
                 or any(not r.is_default for r in snapshot.rules_of(l.arn))]
    web = [l for l in listeners if l.port in (80, 443)]
    return web or listeners


# --------------------------------------------------------------------------- DNS
@dataclass
class Branch:
    """One way the domain resolves: the chain of record sets followed, and where it ends."""

    chain: list[RecordSet]
    lb_arn: str | None
    external: str | None = None  # a name or IP that is no load balancer of this account

    @property
    def label(self) -> str:
        return " -> ".join(r.label for r in self.chain)


def records_named(snapshot: Snapshot, name: str) -> list[RecordSet]:
    name = norm_dns(name)
    return [r for r in snapshot.records if r.name == name and r.type in ("A", "AAAA", "CNAME")]


def zones_covering(snapshot: Snapshot, name: str) -> list[str]:
    name = norm_dns(name)
    return [z.id for z in snapshot.zones.values() if name == z.name or name.endswith("." + z.name)]


def _lb_for_ip(snapshot: Snapshot, ip: str) -> LoadBalancer | None:
    for eni in snapshot.network_interfaces.values():
        if ip in eni.private_ips or ip in eni.public_ips:
            ref = eni.load_balancer_ref
            if ref:
                return snapshot.lb_by_ref(ref)
    return None


def branches(snapshot: Snapshot, domain: str) -> list[Branch]:
    """Every resolution branch of ``domain`` through the account's zones."""
    out: list[Branch] = []

    def follow(name: str, chain: list[RecordSet]) -> None:
        recs = records_named(snapshot, name)
        if not recs:
            if chain:
                out.append(Branch(chain, None, external=name))
            return
        for rec in recs:
            here = chain + [rec]
            if len(here) > MAX_CHAIN:
                out.append(Branch(here, None, external=f"chain longer than {MAX_CHAIN}"))
                continue
            targets = [rec.alias_dns] if rec.alias_dns else rec.values if rec.type == "CNAME" else []
            if rec.type == "CNAME" or rec.alias_dns:
                for t in targets:
                    t = norm_dns(t)
                    lb = snapshot.lb_by_dns(t)
                    if lb:
                        out.append(Branch(here, lb.arn))
                    elif records_named(snapshot, t):
                        follow(t, here)
                    else:
                        out.append(Branch(here, None, external=t))
            else:  # plain A/AAAA: IPs that may belong to a load balancer's network interfaces
                lbs = {lb.arn for ip in rec.values if (lb := _lb_for_ip(snapshot, ip))}
                if lbs:
                    out.extend(Branch(here, arn) for arn in sorted(lbs))
                else:
                    out.append(Branch(here, None, external=", ".join(rec.values)))

    follow(domain, [])
    return out


def record_ips(snapshot: Snapshot, domain: str) -> list[str]:
    """Plain A/AAAA values reachable from ``domain`` (to look up their network interfaces)."""
    seen: list[str] = []
    todo, done = [norm_dns(domain)], set()
    while todo and len(done) < MAX_CHAIN * 4:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        for rec in records_named(snapshot, name):
            if rec.alias_dns:
                todo.append(rec.alias_dns)
            elif rec.type == "CNAME":
                todo.extend(norm_dns(v) for v in rec.values)
            else:
                seen.extend(v for v in rec.values if v not in seen)
    return seen


# --------------------------------------------------------------------------- the whole path
@dataclass
class RequestPath:
    domain: str | None
    branches: list[Branch] = field(default_factory=list)
    service: Service | None = None
    service_source: str | None = None  # given | domain | only-candidate
    candidates: list[str] = field(default_factory=list)  # cluster/service keys behind other load balancers
    requested_service: str | None = None  # cluster/service asked for with --cluster/--service

    @property
    def record_lb_arns(self) -> list[str]:
        return list(dict.fromkeys(b.lb_arn for b in self.branches if b.lb_arn))

    def service_tg_arns(self) -> list[str]:
        return self.service.target_group_arns if self.service else []

    def service_lb_arns(self, snapshot: Snapshot) -> list[str]:
        arns: list[str] = []
        for tg in self.service_tg_arns():
            arns.extend(lb.arn for lb in snapshot.lbs_forwarding_to(tg))
        return list(dict.fromkeys(arns))

    def path_lb_arns(self, snapshot: Snapshot) -> list[str]:
        """The load balancers on the path: those the domain reaches, then those in front of the service."""
        return list(dict.fromkeys(self.record_lb_arns + self.service_lb_arns(snapshot)))

    def task_definition(self, snapshot: Snapshot):
        return snapshot.task_definitions.get(self.service.task_definition) if self.service else None


def services_behind(snapshot: Snapshot, lb_arns: list[str]) -> list[Service]:
    """ECS services whose target groups a listener of these load balancers forwards to."""
    found: dict[str, Service] = {}
    for lb_arn in lb_arns:
        for lst in snapshot.listeners_of(lb_arn):
            actions = [lst.default_action] + [r.action for r in snapshot.rules_of(lst.arn)]
            for action in actions:
                for tg in action.forwarded_tgs:
                    for svc in snapshot.services_using(tg):
                        found[svc.arn] = svc
    return list(found.values())


def candidate_services(snapshot: Snapshot, exclude_lbs: list[str]) -> list[Service]:
    """Services behind some other load balancer of the account (the incident's "right" ALB)."""
    out = []
    for svc in snapshot.services.values():
        lbs = {lb.arn for tg in svc.target_group_arns for lb in snapshot.lbs_forwarding_to(tg)}
        if lbs and not lbs <= set(exclude_lbs):
            out.append(svc)
    return sorted(out, key=lambda s: s.key)
