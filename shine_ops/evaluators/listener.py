"""Listener hop: for each service path, the first matching rule forwards to the service's target group."""

from __future__ import annotations

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip
from shine_ops.topology import path as P


@evaluator("listener.routes-to-service", needs={"elbv2"}, hop="listener")
def routes_to_service(ctx: Context, params: dict) -> Outcome:
    """Each of ``service_paths`` reaches a service target group: first matching rule, else the default action."""
    snap, path, svc = ctx.snapshot, ctx.path, ctx.path.service
    if not svc:
        return skip("No ECS service was found, so there is no target group to route to.")
    service_tgs = set(svc.target_group_arns)
    service_lbs = path.service_lb_arns(snap)
    # Judge the load balancers the domain reaches when they front the service; else the service's own.
    lbs = [a for a in path.record_lb_arns if a in service_lbs] or service_lbs
    tg_names = snap.tg_names()
    if not lbs:
        names = ", ".join(snap.tg_name(t) for t in svc.target_group_arns)
        return Outcome("fail", f"No listener of any load balancer forwards to {names}, the target group(s) of {svc.key}.",
                       resources=[svc.arn] + svc.target_group_arns, expected=f"a listener rule forwarding to {names}",
                       actual="no load balancer forwards to them")
    problems, ok_lines, resources, routes = [], [], list(lbs), []
    for lb_arn in lbs:
        lb = snap.load_balancers[lb_arn]
        listeners = P.entry_listeners(snap, lb)
        if not listeners:
            problems.append(f"{lb.name} has no listener that forwards traffic")
            continue
        for lst in listeners:
            for pattern in ctx.settings.service_paths:
                req = P.sample_path(pattern)
                r = P.route(snap, lst, path.domain, req)
                tgs = r.action.forwarded_tgs
                line = f"{lb.name} {lst.label} {req} -> {r.rule_label} -> {r.action.describe(tg_names)}"
                routes.append({"load_balancer": lb.name, "listener": lst.label, "path": req, "rule": r.rule_label,
                               "action": r.action.describe(tg_names), "notes": r.notes})
                if any(t in service_tgs for t in tgs):
                    ok_lines.append(line)
                    continue
                resources.append(lst.arn)
                resources.extend(tgs)
                if r.rule:
                    resources.append(r.rule.arn)
                later = [x for x in r.matching[1:] if any(t in service_tgs for t in x.action.forwarded_tgs)]
                if later:
                    line += f" (shadows {later[0].label}, which would forward to the service)"
                problems.append(line)
    svc_tg_txt = ", ".join(tg_names.get(t, t) for t in svc.target_group_arns)
    expected = f"{', '.join(ctx.settings.service_paths)} forward to {svc_tg_txt}"
    evidence = {"routes": routes}
    if not problems:
        return Outcome("pass", f"Every service path reaches {svc_tg_txt}.", resources=resources, expected=expected,
                       actual="; ".join(ok_lines), evidence=evidence)
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return Outcome("fail", f"Requests go astray: {first}, not to {svc_tg_txt}{more}.",
                   resources=resources + svc.target_group_arns, expected=expected, actual="; ".join(problems),
                   evidence=evidence)
