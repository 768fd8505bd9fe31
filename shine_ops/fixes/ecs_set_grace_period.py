"""ecs.set-grace-period: give new tasks time to start before load-balancer health checks count."""

from __future__ import annotations

from shine_ops.fixes import ApiCall, Change, FixPlan, PlanContext, Probe, fix


@fix("ecs.set-grace-period", checks=["ecs.grace-period-covers-startup"], order=50,
     iam=["ecs:UpdateService", "ecs:DescribeServices"])
def plan(pc: PlanContext) -> FixPlan | None:
    svc = pc.ctx.path.service
    if svc is None or not svc.load_balancers:
        return None
    budget = int(pc.ctx.settings.startup_budget_s)
    current = svc.grace_period or 0
    if current >= budget:
        return None
    want = budget + 30  # the budget plus one health-check interval
    change = Change(
        key="ecs.set-grace-period#1", fix="ecs.set-grace-period", resource=svc.arn,
        description=f"{svc.key}: health-check grace period {current} s -> {want} s",
        call=ApiCall("ecs", "UpdateService", {"cluster": svc.cluster_name, "service": svc.name,
                                              "healthCheckGracePeriodSeconds": want}),
        before={"healthCheckGracePeriodSeconds": svc.grace_period}, after={"healthCheckGracePeriodSeconds": want},
        inverse=[ApiCall("ecs", "UpdateService", {"cluster": svc.cluster_name, "service": svc.name,
                                                  "healthCheckGracePeriodSeconds": current})],
        probe=Probe(ApiCall("ecs", "DescribeServices", {"cluster": svc.cluster_name, "services": [svc.name]}),
                    "services[0].healthCheckGracePeriodSeconds", svc.grace_period))
    return FixPlan(fix="ecs.set-grace-period", check="ecs.grace-period-covers-startup",
                   summary=f"Give tasks {want} s to start (startup budget {budget} s) before health checks count.",
                   changes=[change], verify=["ecs.grace-period-covers-startup"])
