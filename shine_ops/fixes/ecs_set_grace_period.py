"""ecs.set-grace-period: give new tasks time to start before load-balancer health checks count.

Planned only from a failing ``ecs.grace-period-covers-startup``. The new value comes from the declared
``startup_budget_s`` (plus one health-check interval of the service's target group), or else from the account:
the time the container's own ``healthCheck`` gives the app to become healthy (``startPeriod + interval x
retries``), when the finding's evidence shows tasks killed while starting. Without either, nothing is planned and
the plan says which setting to declare.
"""

from __future__ import annotations

from shine_ops.evaluators import ecs_evidence as E
from shine_ops.fixes import ApiCall, Change, FixPlan, PlanContext, Probe, fix

CHECK = "ecs.grace-period-covers-startup"


def _target(pc: PlanContext, current: int) -> tuple[int | None, str]:
    """(the grace period to set, the evidence it rests on); (None, why) when nothing gives a value."""
    ctx = pc.ctx
    path, snap, svc = ctx.path, ctx.snapshot, ctx.path.service
    from shine_ops.evaluators.ecs import service_tasks

    ev = E.startup_evidence(path, snap, service_tasks(snap, svc), path.judged_task_definitions(snap))
    budget = ctx.settings.startup_budget_s
    if budget is not None:
        budget = int(budget)
        if current >= budget:
            return None, f"the grace period {current} s already covers startup_budget_s {budget} s"
        return budget + ev.interval_s, (f"startup_budget_s {budget} s (declared) + one {ev.interval_s} s health-check "
                                        "interval of the target group")
    if not ev.killed_starting:
        return None, ("no task was seen stopped for failed ELB health checks while starting; declare "
                      "startup_budget_s to set the grace period from the app's start-up time")
    kills = f"{len(ev.killed_starting)} task(s) stopped while starting, e.g. {E.describe_kill(ev.killed_starting[0])}"
    hc = ev.health_check_budget
    if hc is None:
        return None, (f"{kills}, but no container healthCheck says how long the app takes to start: declare "
                      "startup_budget_s (shine-ops.yaml) to set the grace period")
    if hc[0] <= current:
        return None, (f"{kills}, but {hc[1]} ({hc[0]} s) is already within the grace period {current} s: declare "
                      "startup_budget_s (shine-ops.yaml) to set it")
    # the killed tasks were still starting when ECS stopped them: they need longer than they got
    observed = int(ev.longest_kill_s) + ev.interval_s
    if observed > hc[0]:
        return observed, (f"{hc[1]} = {hc[0]} s, raised to {observed} s since {kills} (+ one {ev.interval_s} s "
                          "health-check interval)")
    return hc[0], f"{hc[1]}; {kills}"


@fix("ecs.set-grace-period", checks=[CHECK], order=50, iam=["ecs:UpdateService", "ecs:DescribeServices"])
def plan(pc: PlanContext) -> FixPlan | None:
    finding = pc.findings.get(CHECK)
    svc = pc.ctx.path.service
    if finding is None or finding.status != "fail" or svc is None or not svc.load_balancers:
        return None
    current = int(svc.grace_period or 0)
    want, why = _target(pc, current)
    if want is None:
        return FixPlan(fix="ecs.set-grace-period", check=CHECK, summary="No grace period to set from the evidence.",
                       changes=[], verify=[CHECK], refused=why)
    change = Change(
        key="ecs.set-grace-period#1", fix="ecs.set-grace-period", resource=svc.arn,
        description=f"{svc.key}: health-check grace period {current} s -> {want} s (from {why})",
        call=ApiCall("ecs", "UpdateService", {"cluster": svc.cluster_name, "service": svc.name,
                                              "healthCheckGracePeriodSeconds": want}),
        before={"healthCheckGracePeriodSeconds": svc.grace_period}, after={"healthCheckGracePeriodSeconds": want},
        inverse=[ApiCall("ecs", "UpdateService", {"cluster": svc.cluster_name, "service": svc.name,
                                                  "healthCheckGracePeriodSeconds": current})],
        probe=Probe(ApiCall("ecs", "DescribeServices", {"cluster": svc.cluster_name, "services": [svc.name]}),
                    "services[0].healthCheckGracePeriodSeconds", svc.grace_period))
    return FixPlan(fix="ecs.set-grace-period", check=CHECK,
                   summary=f"Give tasks {want} s to start before load-balancer health checks count ({why}).",
                   changes=[change], verify=[CHECK])
