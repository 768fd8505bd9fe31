"""ECS hop: the service exists, is active, and runs the tasks it wants."""

from __future__ import annotations

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip


@evaluator("ecs.service-running", needs={"ecs"}, hop="service")
def service_running(ctx: Context, params: dict) -> Outcome:
    """The service exists, is ACTIVE, runs as many tasks as it wants (more than 0), and its rollout has not failed."""
    path, snap, svc = ctx.path, ctx.snapshot, ctx.path.service
    if path.requested_service and path.requested_service in snap.missing_services:
        cluster, name = path.requested_service.split("/", 1)
        return Outcome("fail", f"ECS service {name} does not exist in cluster {cluster} (MISSING): nothing can serve "
                               "the traffic.", resources=[path.requested_service],
                       expected="an ACTIVE service", actual="MISSING")
    if not svc:
        return skip("No ECS service was found behind the domain or any other load balancer.")
    actual = (f"status {svc.status}, {svc.running}/{svc.desired} running, {svc.pending} pending"
              + (f", rollout {svc.rollout_state}" if svc.rollout_state else ""))
    evidence = {"status": svc.status, "desired": svc.desired, "running": svc.running, "pending": svc.pending,
                "rollout_state": svc.rollout_state, "task_definition": svc.task_definition}
    base = dict(resources=[svc.arn], expected="ACTIVE, running = desired > 0, rollout not FAILED", actual=actual,
                evidence=evidence)
    if svc.status != "ACTIVE":
        return Outcome("fail", f"Service {svc.key} is {svc.status}, not ACTIVE.", **base)
    if svc.desired == 0:
        return Outcome("fail", f"Service {svc.key} wants 0 tasks, so nothing serves its target group.", **base)
    if svc.rollout_state == "FAILED":
        return Outcome("fail", f"The latest deployment of {svc.key} FAILED (circuit breaker).", **base)
    if svc.running < svc.desired:
        return Outcome("fail", f"Service {svc.key} runs {svc.running} of the {svc.desired} tasks it wants "
                               f"({svc.pending} pending).", **base)
    return Outcome("pass", f"Service {svc.key} is ACTIVE with {svc.running}/{svc.desired} tasks running.", **base)
