"""Request-path resolution over a snapshot (pure: no AWS calls).

domain -> record set(s) (alias, CNAME chain, weighted/latency branches, plain A records on ELB network
interfaces) -> load balancer -> listener -> first matching rule -> target group -> ECS service.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shine_ops.topology import rules as R
from shine_ops.topology.model import Listener, LoadBalancer, RecordSet, Rule, Service, norm_dns
from shine_ops.topology.snapshot import Snapshot

MAX_CHAIN = 8


# --------------------------------------------------------------------------- ALB matching rules
# One evaluator (topology.rules) judges rules everywhere; these names stay for the callers that route a plain
# request (drift, older tests): ``route`` is ``rules.evaluate`` of ``Request.plain(host, path)``.
match_path_pattern = R.match_path_pattern
match_host = R.match_host
sample_path = R.sample_path
Route = R.Evaluation


def rule_matches(rule: Rule, host: str | None, path: str) -> tuple[bool, str | None]:
    """Does a plain ``GET host/path`` match ``rule``? (matches, note); a rule the evaluator cannot judge does not
    match here, and its note says ``cannot judge``."""
    v = R.rule_verdict(rule, R.Request.plain(host, path))
    if v.result is None:
        return False, f"cannot judge: {v.note}"
    return bool(v.result), v.note


def route(snapshot: Snapshot, listener: Listener, host: str | None, path: str) -> Route:
    """Where a plain ``GET host/path`` lands on ``listener`` (see ``rules.Evaluation``)."""
    return R.evaluate(snapshot, listener, R.Request.plain(host, path))


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
    return [r for r in snapshot.records_by_name(norm_dns(name)) if r.type in ("A", "AAAA", "CNAME")]


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
        """The PRIMARY revision (the service's ``taskDefinition``): the one ECS rolls out, which may run no task
        yet (docs/aws-behaviour.md section 5). Checks of what serves use ``judged_task_definitions``."""
        return snapshot.task_definitions.get(self.service.task_definition) if self.service else None

    def running_tasks(self, snapshot: Snapshot) -> list:
        """The service's RUNNING tasks in the snapshot (ECS tags them ``group: service:<name>``; some emulators
        list the whole cluster for ``ListTasks(serviceName=...)``, so the group and cluster are checked)."""
        svc = self.service
        if not svc:
            return []
        return [t for t in snapshot.tasks.values()
                if t.last_status == "RUNNING" and t.group in (None, "", f"service:{svc.name}")
                and (not t.raw.get("clusterArn") or t.raw.get("clusterArn") == svc.cluster_arn)]

    def serving_task_definition_arns(self, snapshot: Snapshot) -> list[str]:
        """The revisions that run, PRIMARY first: the running tasks' ``taskDefinitionArn`` when the tasks were
        collected (what runs now), else the deployments' and task sets' with ``runningCount > 0`` (on AWS both
        agree; an emulator's counts can lag a deployment, its tasks do not). Empty when nothing runs."""
        svc = self.service
        if not svc:
            return []
        tasks = [t.task_definition for t in self.running_tasks(snapshot) if t.task_definition]
        counted = [d.task_definition for d in svc.deployments if d.running > 0 and d.status != "INACTIVE"] \
            + [t.task_definition for t in svc.task_sets if t.running > 0]
        running = set(tasks or counted)
        order = svc.named_revisions() + tasks  # PRIMARY, then older deployments/task sets, then the rest
        return [a for a in dict.fromkeys(order) if a in running]

    def serving_task_definitions(self, snapshot: Snapshot) -> list:
        """The collected task definitions of the revisions that run (deduplicated; see
        ``serving_task_definition_arns``)."""
        found = [snapshot.task_definitions.get(a) for a in self.serving_task_definition_arns(snapshot)]
        return list({td.arn: td for td in found if td is not None}.values())

    def judged_task_definitions(self, snapshot: Snapshot) -> list:
        """What a task-definition check judges: the revisions that run, and the PRIMARY one (rolling out, or
        the only one when nothing runs), PRIMARY first. A check says which of them serves
        (``serving_task_definition_arns``)."""
        primary = self.task_definition(snapshot)
        out = ([primary] if primary is not None else []) + self.serving_task_definitions(snapshot)
        return list({td.arn: td for td in out}.values())


def services_behind(snapshot: Snapshot, lb_arns: list[str]) -> list[Service]:
    """ECS services whose target groups a listener of these load balancers forwards to (at a weight above 0), for
    any request at all. What one domain reaches is ``services_reached``."""
    found: dict[str, Service] = {}
    for lb_arn in lb_arns:
        for lst in snapshot.listeners_of(lb_arn):
            actions = [lst.default_action] + [r.action for r in snapshot.rules_of(lst.arn)]
            for action in actions:
                for tg in action.forwarded_tgs:
                    for svc in snapshot.services_using(tg):
                        found[svc.arn] = svc
    return list(found.values())


@dataclass
class Reach:
    """One of the domain's requests on one listener, and the services it reaches (docs/aws-behaviour.md section 3)."""

    load_balancer: str
    listener: str
    request: str
    rule: str
    services: list[str]
    uncertain: list[str] = field(default_factory=list)  # rules on the way the evaluator cannot judge


def services_reached(snapshot: Snapshot, lb_arns: list[str], host: str | None,
                     service_paths: list[str] | None = None) -> tuple[list[Service], list[Reach]]:
    """The ECS services the domain's own requests reach on these load balancers: plain requests with host = the
    domain, over the declared ``service_paths``, else over ``GET /`` and the paths of the listener's rules for
    that host. Neighbours on a shared load balancer (other hosts, header-only rules, weight-0 groups) are not
    reached. A rule the evaluator cannot judge counts both ways (its groups and the fallback's): ambiguity is
    reported, never guessed away."""
    found: dict[str, Service] = {}
    reaches: list[Reach] = []
    for lb_arn in lb_arns:
        lb = snapshot.load_balancers.get(lb_arn)
        if lb is None:
            continue
        for lst in entry_listeners(snapshot, lb):
            for jp in R.domain_paths(snapshot, lst, host, service_paths):
                ev = R.evaluate(snapshot, lst, jp.request(host))
                svcs = [s for tg in ev.possible_tgs() for s in snapshot.services_using(tg)]
                for svc in svcs:
                    found[svc.arn] = svc
                reaches.append(Reach(lb.name, lst.label, ev.request.describe(), ev.rule_label,
                                     list(dict.fromkeys(s.key for s in svcs)), list(ev.cannot_judge)))
    return list(found.values()), reaches


def candidate_services(snapshot: Snapshot, exclude_lbs: list[str]) -> list[Service]:
    """Services behind some other load balancer of the account (the incident's "right" ALB)."""
    out = []
    for svc in snapshot.services.values():
        lbs = {lb.arn for tg in svc.target_group_arns for lb in snapshot.lbs_forwarding_to(tg)}
        if lbs and not lbs <= set(exclude_lbs):
            out.append(svc)
    return sorted(out, key=lambda s: s.key)
