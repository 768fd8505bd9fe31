"""alb.set-idle-timeout: raise a load balancer's idle timeout so the slowest requests can finish.

Planned only from a failing ``alb.idle-timeout-covers-latency``, and only to a value that rests on something:
the declared ``latency_budget_s`` (+30 s for the request to finish), or, without a declaration, CloudWatch's
evidence that the timeout cuts requests (ELB 504s while the slowest recorded response reaches the timeout):
then twice that slowest response, at least 30 s more. Where neither gives a value nothing is planned.
"""

from __future__ import annotations

import math

from shine_ops.fixes import ApiCall, Change, FixPlan, PlanContext, Probe, fix

KEY = "idle_timeout.timeout_seconds"
CHECK = "alb.idle-timeout-covers-latency"
MAX_S = 4000  # AWS's upper bound for idle_timeout.timeout_seconds
MARGIN_S = 30  # room for the slowest request to finish past the budget


def target_from_budget(budget: float) -> int:
    """The declared budget plus room to finish (never below AWS's default 60 s, never above AWS's 4000 s)."""
    return min(MAX_S, max(60, math.ceil(budget) + MARGIN_S))


def target_from_evidence(slowest_s: float) -> int:
    """Requests cut at the timeout needed longer than the slowest one recorded (the old timeout), by an unknown
    amount: give them twice that time, at least 30 s more, so the next diagnosis can tell if that was enough."""
    observed = math.ceil(slowest_s)
    return min(MAX_S, observed + max(MARGIN_S, observed))


@fix("alb.set-idle-timeout", checks=[CHECK], order=40,
     iam=["elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:DescribeLoadBalancerAttributes"])
def plan(pc: PlanContext) -> FixPlan | None:
    from shine_ops.evaluators.alb import idle_evidence, idle_timeout_of, off_path_lb_arns, path_lbs

    finding = pc.findings.get(CHECK)
    if finding is None or finding.status != "fail":
        return None  # no harm shown: nothing to change
    declared = pc.ctx.settings.latency_budget_s
    try:
        budget = float(declared) if declared is not None else None
    except (TypeError, ValueError):
        return None
    changes: list[Change] = []
    notes: list[str] = []
    off_path = off_path_lb_arns(pc.ctx)  # the legacy ALB a wrong record reaches is not ours to tune
    for lb in path_lbs(pc.ctx):
        if lb.type != "application" or lb.attributes is None or lb.arn in off_path:
            continue
        seconds, defaulted = idle_timeout_of(lb)
        now_txt = f"{seconds} s" if seconds is not None else f"unreadable {lb.attribute(KEY)!r}"
        if budget is not None:
            if seconds is not None and seconds >= budget:
                continue
            want = target_from_budget(budget)
            why = (f"evidence: idle timeout {now_txt}" + (" (AWS default, attribute absent)" if defaulted else "")
                   + f" < declared latency_budget_s {budget:g} s; new value = budget + {MARGIN_S} s")
        else:
            ev = idle_evidence(pc.ctx, lb, seconds, defaulted)
            slowest = ev.metrics.get("response_max_s")
            if ev.kind != "cut" or slowest is None:
                continue
            want = target_from_evidence(float(slowest))
            why = (f"evidence: CloudWatch, last {ev.metrics.get('window_h', 3):g} h: {ev.metrics.get('elb_504', 0):.0f} "
                   f"ELB 504(s) (HTTPCode_ELB_504_Count) while the slowest target response (TargetResponseTime "
                   f"Maximum) took {float(slowest):.1f} s, near the {now_txt} timeout; new value = twice the slowest "
                   f"response, at least +{MARGIN_S} s; declare latency_budget_s to choose it yourself")
        if seconds is not None and want <= seconds:
            notes.append(f"{lb.name}: idle timeout {now_txt} already at {MAX_S} s or above what the evidence gives "
                         f"({want} s): not changed")
            continue
        old = lb.attribute(KEY)
        key = f"alb.set-idle-timeout#{len(changes) + 1}"
        changes.append(Change(
            key=key, fix="alb.set-idle-timeout", resource=lb.arn,
            description=f"{lb.name}: idle timeout {now_txt} -> {want} s ({why})",
            call=ApiCall("elbv2", "ModifyLoadBalancerAttributes",
                         {"LoadBalancerArn": lb.arn, "Attributes": [{"Key": KEY, "Value": str(want)}]}),
            before={KEY: old if old is not None else "absent (AWS default 60)"}, after={KEY: str(want)},
            inverse=[ApiCall("elbv2", "ModifyLoadBalancerAttributes",
                             {"LoadBalancerArn": lb.arn, "Attributes": [{"Key": KEY, "Value": old or "60"}]})],
            probe=Probe(ApiCall("elbv2", "DescribeLoadBalancerAttributes", {"LoadBalancerArn": lb.arn}),
                        f"Attributes[?Key=='{KEY}'].Value | [0]", old)))
    if not changes:
        return FixPlan(fix="alb.set-idle-timeout", check=CHECK, summary="Nothing to raise.", changes=[],
                       verify=[CHECK], notes=notes) if notes else None
    source = (f"latency budget {budget:g} s" if budget is not None
              else "CloudWatch: requests cut at the timeout; latency_budget_s not declared")
    targets = ", ".join(c.after[KEY] + " s" for c in changes)
    return FixPlan(fix="alb.set-idle-timeout", check=CHECK,
                   summary=f"Let slow requests finish: idle timeout {targets} ({source}).",
                   changes=changes, verify=[CHECK], notes=notes)
