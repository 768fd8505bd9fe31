"""tg.align-health-check: health-check the app where the evidence shows it answers.

Planned only for a target group whose health check fails on evidence (``healthcheck.judge_health_check``):
a numeric port the load balancer cannot reach (-> ``traffic-port``), a path the app answers with a code the
matcher rejects (-> the declared ``health_path``, else the path of the container's own ``healthCheck``
command), a matcher that rejects the 2xx/3xx code the app answers with, a non-HTTP protocol. Where no target
value is known, nothing is planned and the finding names the setting to declare.
"""

from __future__ import annotations

from shine_ops.fixes import ApiCall, Change, FixPlan, PlanContext, Probe, fix


@fix("tg.align-health-check", checks=["tg.health-check-matches-app"], order=25,
     iam=["elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:DescribeTargetGroups"])
def plan(pc: PlanContext) -> FixPlan | None:
    from shine_ops.evaluators.healthcheck import judge_health_check
    from shine_ops.evaluators.tg_ports import _service_tgs

    changes = []
    for m, tg in _service_tgs(pc.ctx):
        if m.target_group_arn in pc.replaced_tgs:
            continue
        j = judge_health_check(pc.ctx, m, tg)
        if j.verdict != "fail" or not j.new:
            continue
        hc, new = tg.health_check, j.new
        old = {"HealthCheckProtocol": hc.protocol, "HealthCheckPort": hc.port, "HealthCheckPath": hc.path or "/",
               "Matcher": {"HttpCode": hc.matcher or "200"}}
        old = {k: v for k, v in old.items() if k in new}
        evidence = "; ".join(j.problems)
        changes.append(Change(
            key=f"tg.align-health-check#{len(changes) + 1}", fix="tg.align-health-check", resource=tg.arn,
            description=f"{tg.name}: health check " + ", ".join(f"{k} {old[k]} -> {v}" for k, v in new.items())
            + f" (evidence: {evidence}"
            + (f"; target from the {j.evidence['fix_path_from']}" if "HealthCheckPath" in new else "") + ")",
            call=ApiCall("elbv2", "ModifyTargetGroup", {"TargetGroupArn": tg.arn, **new}),
            before=old, after=new,
            inverse=[ApiCall("elbv2", "ModifyTargetGroup", {"TargetGroupArn": tg.arn, **old})],
            probe=Probe(ApiCall("elbv2", "DescribeTargetGroups", {"TargetGroupArns": [tg.arn]}),
                        "TargetGroups[0].[HealthCheckProtocol, HealthCheckPort, HealthCheckPath, Matcher.HttpCode]",
                        [hc.protocol, hc.port, hc.path, hc.matcher])))
    if not changes:
        return None
    return FixPlan(fix="tg.align-health-check", check="tg.health-check-matches-app",
                   summary="Health-check the app where the evidence shows it answers.",
                   changes=changes, verify=["tg.health-check-matches-app"])
