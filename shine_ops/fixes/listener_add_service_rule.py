"""listener.add-service-rule: a rule forwarding the service paths that go astray to the service's target group,
at a free priority ahead of any rule that shadows them (the Shine team's own fix was priority 300 ``/api/*``)."""

from __future__ import annotations

from shine_ops.fixes import ApiCall, Change, FixPlan, PlanContext, Probe, fix, ref
from shine_ops.topology import path as P


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
    snap, path, svc = pc.ctx.snapshot, pc.ctx.path, pc.ctx.path.service
    if svc is None or not svc.target_group_arns:
        return None
    service_tgs = set(svc.target_group_arns)
    target_tg = svc.target_group_arns[0]
    forward_to = pc.replaced_tgs.get(target_tg, target_tg)
    service_lbs = path.service_lb_arns(snap)
    lbs = [a for a in path.record_lb_arns if a in service_lbs] or service_lbs
    changes = []
    for lb_arn in lbs:
        lb = snap.load_balancers[lb_arn]
        for lst in P.entry_listeners(snap, lb):
            astray, shadow = [], []
            for pattern in pc.ctx.settings.service_paths:
                r = P.route(snap, lst, path.domain, P.sample_path(pattern))
                if not any(t in service_tgs for t in r.action.forwarded_tgs):
                    astray.append(pattern)
                    if r.rule is not None:
                        shadow.append(r.rule.priority)
            if not astray:
                continue
            taken = {r.priority for r in snap.rules_of(lst.arn) if r.priority is not None}
            prio = free_priority(taken, min(shadow) if shadow else None)
            key = f"listener.add-service-rule#{len(changes) + 1}"
            conds = [{"Field": "path-pattern", "PathPatternConfig": {"Values": astray}}]
            changes.append(Change(
                key=key, fix="listener.add-service-rule", resource=lst.arn,
                description=f"{lb.name} {lst.label}: new rule priority {prio} {', '.join(astray)} -> "
                            f"{'the new target group' if isinstance(forward_to, dict) else snap.tg_name(forward_to)}",
                call=ApiCall("elbv2", "CreateRule", {"ListenerArn": lst.arn, "Priority": prio, "Conditions": conds,
                                                     "Actions": [{"Type": "forward", "TargetGroupArn": forward_to}]}),
                before={f"{', '.join(astray)} on {lst.label}": "falls through to another target group"},
                after={f"{', '.join(astray)} on {lst.label}": f"priority {prio} forwards to the service"},
                inverse=[ApiCall("elbv2", "DeleteRule", {"RuleArn": ref(key, "RuleArn")})],
                results={"RuleArn": "Rules[0].RuleArn"},
                probe=Probe(ApiCall("elbv2", "DescribeRules", {"ListenerArn": lst.arn}),
                            f"length(Rules[?Priority=='{prio}'])", 0,
                            recover=ApiCall("elbv2", "DescribeRules", {"ListenerArn": lst.arn},
                                            results={"RuleArn": f"Rules[?Priority=='{prio}'] | [0].RuleArn"}))))
    if not changes:
        return None
    return FixPlan(fix="listener.add-service-rule", check="listener.routes-to-service",
                   summary="Send the service paths that go astray to the service's target group.",
                   changes=changes, verify=["listener.routes-to-service"])
