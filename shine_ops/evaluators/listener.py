"""Listener hop: the service's own requests reach its target group, as the load balancer's rules route them.

``listener.routes-to-service`` judges requests with the one rule evaluator (``topology.rules``): the declared
``service_paths`` when given; otherwise the domain's plain request ``GET /`` and the paths that the domain's own
rules send to the service. A request that reaches another target group first is *astray* (a rule shadows the
service); rules for other hosts on a shared load balancer are neighbours, not faults; a rule the evaluator
cannot judge on the way is a ``warn`` that names it (docs/aws-behaviour.md section 3).

TLS on the same listeners (certificates, HTTP to HTTPS) is judged in ``tls``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip
from shine_ops.topology import path as P
from shine_ops.topology import rules as R
from shine_ops.topology.model import Listener, LoadBalancer, Rule


@dataclass
class RouteJudgement:
    """One judged request on one listener.

    ``verdict``: ``reaches`` (a service target group gets it), ``astray`` (another target group gets it first: a
    declared service path, or a path the domain's own rules send to the service), ``elsewhere`` (the plain
    ``GET /`` goes elsewhere while service_paths is undeclared: no evidence that ``/`` belongs to the service),
    ``unknown`` (a rule on the way the evaluator cannot judge)."""

    lb: LoadBalancer
    listener: Listener
    judged: R.JudgedPath
    ev: R.Evaluation
    verdict: str
    line: str
    shadowed: Rule | None = None  # a later rule that would forward it to the service

    def as_json(self, tg_names: dict[str, str]) -> dict:
        return {"load_balancer": self.lb.name, "listener": self.listener.label, "request": self.ev.request.describe(),
                "path": self.ev.path, "judged_because": self.judged.why, "rule": self.ev.rule_label,
                "action": self.ev.describe_action(tg_names), "verdict": self.verdict, "notes": self.ev.notes,
                "cannot_judge": self.ev.cannot_judge}


@dataclass
class ServiceRouting:
    """Every judged request of the service on the load balancers in front of it."""

    service_tgs: set[str]
    lbs: list[str]
    declared: bool
    judgements: list[RouteJudgement] = field(default_factory=list)
    no_listener: list[str] = field(default_factory=list)  # load balancers without a forwarding listener
    header_only: list[str] = field(default_factory=list)  # rules to the service a plain request cannot match
    neighbours: list[str] = field(default_factory=list)  # rules for other hosts (not faults)

    def of(self, *verdicts: str) -> list[RouteJudgement]:
        return [j for j in self.judgements if j.verdict in verdicts]

    @property
    def judged_patterns(self) -> list[str]:
        return list(dict.fromkeys(j.judged.pattern for j in self.judgements))


def judge_service_routes(ctx: Context) -> ServiceRouting | None:
    """Judge the service's requests on the load balancers the domain reaches when they front the service, else on
    the service's own (shared by the check and by listener.add-service-rule). None without a service."""
    snap, path, svc = ctx.snapshot, ctx.path, ctx.path.service
    if not svc:
        return None
    service_tgs = set(svc.target_group_arns)
    service_lbs = path.service_lb_arns(snap)
    lbs = [a for a in path.record_lb_arns if a in service_lbs] or service_lbs
    declared = ctx.settings.service_paths is not None
    out = ServiceRouting(service_tgs=service_tgs, lbs=lbs, declared=declared)
    tg_names = snap.tg_names()
    host = path.domain
    for lb_arn in lbs:
        lb = snap.load_balancers[lb_arn]
        listeners = P.entry_listeners(snap, lb)
        if not listeners:
            out.no_listener.append(f"{lb.name} has no listener that forwards traffic")
            continue
        for lst in listeners:
            for jp in R.domain_paths(snap, lst, host, ctx.settings.service_paths, service_tgs):
                ev = R.evaluate(snap, lst, jp.request(host))
                reaches = bool(set(ev.forwarded_tgs) & service_tgs)
                if not ev.judged:
                    verdict = "unknown"
                elif reaches:
                    verdict = "reaches"
                elif jp.source in ("declared", "rule"):
                    verdict = "astray"
                else:
                    verdict = "elsewhere"
                line = f"{lb.name} {lst.label} {ev.request.describe()} -> {ev.rule_label} -> {ev.describe_action(tg_names)}"
                later = [x for x in ev.matching[1:] if set(R.rule_chain(x).terminal.forwarded_tgs) & service_tgs]
                if verdict in ("astray", "elsewhere") and later:
                    line += f" (shadows {later[0].label}, which would forward to the service)"
                if verdict == "unknown":
                    line += f" (cannot judge {'; '.join(ev.cannot_judge)})"
                out.judgements.append(RouteJudgement(lb, lst, jp, ev, verdict, line, later[0] if later else None))
            for rule, why in R.forwarding_rules_out_of_reach(snap, lst, host, service_tgs):
                out.header_only.append(f"{lb.name} {lst.label} {rule.label}: {why}")
            if host:
                for rule in snap.rules_of(lst.arn):
                    hosts = rule.values("host-header")
                    if hosts and not any(R.match_host(h, host) for h in hosts):
                        out.neighbours.append(f"{lb.name} {lst.label} {rule.label}")
    return out


def _undeclared_note(routing: ServiceRouting) -> str:
    if not routing.judged_patterns:  # no listener to send a request to: nothing was judged
        return "service_paths was not declared, and no request could be judged"
    return ("service_paths was not declared: judged " + ", ".join(routing.judged_patterns)
            + " (the domain's plain request GET / and the paths its own rules send to the service; declare "
              "service_paths to judge others)")


@evaluator("listener.routes-to-service", needs={"elbv2"}, hop="listener")
def routes_to_service(ctx: Context, params: dict) -> Outcome:
    """The service's own requests (its host, each declared service path; undeclared: ``GET /`` and the paths the
    domain's rules send to it) reach a service target group first. Rules for other hosts are neighbours."""
    snap, svc = ctx.snapshot, ctx.path.service
    if not svc:
        return skip("No ECS service was found, so there is no target group to route to.")
    if not svc.target_group_arns:  # no mapping, or a Classic ELB by name: nothing a listener could forward to
        return skip(f"{svc.key} maps no target group (loadBalancers names none): no listener route to judge.",
                    resources=[svc.arn])
    routing = judge_service_routes(ctx)
    assert routing is not None
    tg_names = snap.tg_names()
    if not routing.lbs:
        names = ", ".join(snap.tg_name(t) for t in svc.target_group_arns)
        return Outcome("fail", f"No listener of any load balancer forwards to {names}, the target group(s) of {svc.key}.",
                       resources=[svc.arn] + svc.target_group_arns, expected=f"a listener rule forwarding to {names}",
                       actual="no load balancer forwards to them")
    svc_tg_txt = ", ".join(tg_names.get(t, t) for t in svc.target_group_arns)
    resources = list(routing.lbs)
    for j in routing.judgements:
        if j.verdict != "reaches":
            resources += [j.listener.arn, *j.ev.possible_tgs()] + ([j.ev.rule.arn] if j.ev.rule else [])
            resources += [r.arn for r in j.ev.unjudged]
    ok = routing.of("reaches")
    astray, elsewhere, unknown = routing.of("astray"), routing.of("elsewhere"), routing.of("unknown")
    note = "" if routing.declared else " " + _undeclared_note(routing) + "."
    host = ctx.path.domain or "any host"
    fails = [j.line for j in astray] + routing.no_listener
    warns = [j.line for j in unknown]
    if elsewhere:
        if ok or unknown:
            warns += [f"{j.line}: not the service's target group (whether / belongs to the service is not "
                      "declared)" for j in elsewhere]
        elif routing.header_only:
            warns += [f"none of {host}'s plain requests reach {svc_tg_txt} ({elsewhere[0].line}); the rules that "
                      f"forward to it need what a plain request lacks: {'; '.join(routing.header_only)}"]
        else:  # evidence: every request of the domain goes elsewhere, and no rule for this host sends any to it
            fails += [f"{j.line}, and no rule for {host} forwards to the service" for j in elsewhere]
    expected = (f"{', '.join(ctx.settings.service_paths or [])} forward to {svc_tg_txt}" if routing.declared
                else f"the domain's requests (GET / and the paths its rules send to the service) reach {svc_tg_txt}")
    evidence = {"routes": [j.as_json(tg_names) for j in routing.judgements],
                "service_paths": ctx.settings.service_paths,
                "judged_paths": [{"pattern": j.judged.pattern, "why": j.judged.why} for j in routing.judgements],
                "cannot_judge": sorted({c for j in unknown for c in j.ev.cannot_judge})}
    if routing.neighbours:
        evidence["neighbour_rules"] = routing.neighbours  # other hosts on a shared load balancer: not faults
    if routing.header_only:
        evidence["rules_out_of_reach_of_plain_requests"] = routing.header_only
    actual = "; ".join(fails + warns + [j.line for j in ok])
    if fails:
        more = f" (and {len(fails) - 1} more)" if len(fails) > 1 else ""
        return Outcome("fail", f"Requests go astray: {fails[0]}, not to {svc_tg_txt}{more}.{note}",
                       resources=list(dict.fromkeys(resources + svc.target_group_arns)), expected=expected,
                       actual=actual, evidence=evidence)
    if warns:
        more = f" (and {len(warns) - 1} more)" if len(warns) > 1 else ""
        lead = "Cannot judge every rule on the way: " if unknown else ""
        return Outcome("warn", f"{lead}{warns[0]}{more}.{note}", resources=list(dict.fromkeys(resources)),
                       expected=expected, actual=actual, evidence=evidence)
    judged = ", ".join(dict.fromkeys(j.ev.request.describe() for j in ok))
    return Outcome("pass", f"Every judged request reaches {svc_tg_txt}: {judged}.{note}", resources=resources,
                   expected=expected, actual=actual, evidence=evidence)
