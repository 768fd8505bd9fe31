"""listener.add-service-rule: a rule forwarding the service's requests that go astray to its target group, at a
free priority ahead of the rule that shadows them (the Shine team's own fix was priority 300 ``/api/*``).

Planned only from evidence (contract: a fix rests on a failing finding whose evidence shows harm): a declared
service path whose request reaches another target group, or, without declarations, a path the domain's own
rules send to the service that an earlier rule catches first. The plain ``GET /`` going elsewhere while
service_paths is undeclared is no such evidence, and a rule the evaluator cannot judge is never "fixed". Each
step names the request it rests on and where that request lands today. On a load balancer that routes by host,
the new rule carries the domain's host-header, so it never catches a neighbour's requests.
"""

from __future__ import annotations

from shine_ops.fixes import ApiCall, Change, FixPlan, PlanContext, Probe, fix, ref

MAX_MATCH_EVALUATIONS = 5  # ALB: at most five condition values per rule


def free_priority(taken: set[int], below: int | None) -> int:
    """Ahead of ``below`` when a rule shadows the paths, else the next free hundred after the last rule."""
    if below is not None:
        for p in range(below - 1, 0, -1):
            if p not in taken:
                return p
        raise ValueError("no free priority ahead of the shadowing rule")
    p = (max(taken, default=0) // 100 + 1) * 100
    while p in taken:
        p += 1
    return min(p, 50000)


@fix("listener.add-service-rule", checks=["listener.routes-to-service"], order=30,
     iam=["elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule", "elasticloadbalancing:DescribeRules"])
def plan(pc: PlanContext) -> FixPlan | None:
    from shine_ops.evaluators.listener import judge_service_routes

    snap, path, svc = pc.ctx.snapshot, pc.ctx.path, pc.ctx.path.service
    if svc is None or not svc.target_group_arns:
        return None
    routing = judge_service_routes(pc.ctx)
    if routing is None:
        return None
    target_tg = svc.target_group_arns[0]
    forward_to = pc.replaced_tgs.get(target_tg, target_tg)
    tg_label = "the new target group" if isinstance(forward_to, dict) else snap.tg_name(forward_to)
    changes: list[Change] = []
    by_listener: dict[str, list] = {}
    for j in routing.of("astray"):
        by_listener.setdefault(j.listener.arn, []).append(j)
    for lst_arn, astray in by_listener.items():
        lst, lb = astray[0].listener, astray[0].lb
        patterns = list(dict.fromkeys(j.judged.pattern for j in astray))
        shadow = [j.ev.rule.priority for j in astray if j.ev.rule is not None and j.ev.rule.priority is not None]
        rules = snap.rules_of(lst_arn)
        # A listener that routes by host: the new rule names the domain's host, or it would catch neighbours.
        host_cond = ([{"Field": "host-header", "HostHeaderConfig": {"Values": [path.domain]}}]
                     if path.domain and any(r.values("host-header") for r in rules) else [])
        taken = {r.priority for r in rules if r.priority is not None}
        room = MAX_MATCH_EVALUATIONS - len(host_cond)
        for i in range(0, len(patterns), room):
            chunk = patterns[i:i + room]
            prio = free_priority(taken, min(shadow) if shadow else None)
            taken.add(prio)
            evidence = "; ".join(j.line for j in astray if j.judged.pattern in chunk)
            key = f"listener.add-service-rule#{len(changes) + 1}"
            conds = host_cond + [{"Field": "path-pattern", "PathPatternConfig": {"Values": chunk}}]
            where = f"{path.domain} " if host_cond else ""
            changes.append(Change(
                key=key, fix="listener.add-service-rule", resource=lst.arn,
                description=f"{lb.name} {lst.label}: new rule priority {prio} {where}{', '.join(chunk)} -> {tg_label} "
                            f"(evidence: {evidence})",
                call=ApiCall("elbv2", "CreateRule", {"ListenerArn": lst.arn, "Priority": prio, "Conditions": conds,
                                                     "Actions": [{"Type": "forward", "TargetGroupArn": forward_to}]}),
                before={f"{where}{', '.join(chunk)} on {lst.label}": evidence},
                after={f"{where}{', '.join(chunk)} on {lst.label}": f"priority {prio} forwards to the service"},
                inverse=[ApiCall("elbv2", "DeleteRule", {"RuleArn": ref(key, "RuleArn")})],
                results={"RuleArn": "Rules[0].RuleArn"},
                probe=Probe(ApiCall("elbv2", "DescribeRules", {"ListenerArn": lst.arn}),
                            f"length(Rules[?Priority=='{prio}'])", 0,
                            recover=ApiCall("elbv2", "DescribeRules", {"ListenerArn": lst.arn},
                                            results={"RuleArn": f"Rules[?Priority=='{prio}'] | [0].RuleArn"}))))
    if not changes:
        return None
    return FixPlan(fix="listener.add-service-rule", check="listener.routes-to-service",
                   summary="Send the service's requests that go astray to the service's target group.",
                   changes=changes, verify=["listener.routes-to-service"])
