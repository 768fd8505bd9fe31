"""alb.set-idle-timeout: raise the load balancers' idle timeout above the service's latency budget."""

from __future__ import annotations

from shine_ops.fixes import ApiCall, Change, FixPlan, PlanContext, Probe, fix

KEY = "idle_timeout.timeout_seconds"


@fix("alb.set-idle-timeout", checks=["alb.idle-timeout-covers-latency"], order=40,
     iam=["elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:DescribeLoadBalancerAttributes"])
def plan(pc: PlanContext) -> FixPlan | None:
    from shine_ops.evaluators.alb import idle_timeout_of, off_path_lb_arns, path_lbs

    budget = int(pc.ctx.settings.latency_budget_s)
    want = min(4000, max(60, budget + 30))  # the budget plus room for the slowest request to finish
    changes = []
    off_path = off_path_lb_arns(pc.ctx)  # the legacy ALB a wrong record reaches is not ours to tune
    for lb in path_lbs(pc.ctx):
        if lb.type != "application" or lb.attributes is None or lb.arn in off_path:
            continue
        seconds, defaulted = idle_timeout_of(lb)
        if seconds is not None and seconds >= budget:
            continue
        old = lb.attribute(KEY)
        key = f"alb.set-idle-timeout#{len(changes) + 1}"
        changes.append(Change(
            key=key, fix="alb.set-idle-timeout", resource=lb.arn,
            description=f"{lb.name}: idle timeout {seconds if seconds is not None else '?'} s -> {want} s",
            call=ApiCall("elbv2", "ModifyLoadBalancerAttributes",
                         {"LoadBalancerArn": lb.arn, "Attributes": [{"Key": KEY, "Value": str(want)}]}),
            before={KEY: old if old is not None else "absent (AWS default 60)"}, after={KEY: str(want)},
            inverse=[ApiCall("elbv2", "ModifyLoadBalancerAttributes",
                             {"LoadBalancerArn": lb.arn, "Attributes": [{"Key": KEY, "Value": old or "60"}]})],
            probe=Probe(ApiCall("elbv2", "DescribeLoadBalancerAttributes", {"LoadBalancerArn": lb.arn}),
                        f"Attributes[?Key=='{KEY}'].Value | [0]", old)))
    if not changes:
        return None
    return FixPlan(fix="alb.set-idle-timeout", check="alb.idle-timeout-covers-latency",
                   summary=f"Let slow requests finish: idle timeout {want} s (latency budget {budget} s).",
                   changes=changes, verify=["alb.idle-timeout-covers-latency"])
