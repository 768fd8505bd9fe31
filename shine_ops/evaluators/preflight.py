"""Checks ``shine-ops deploy`` runs before it changes anything, on the would-be state.

They are catalogue checks like any other (``checks/deploy.*.yaml``); ``deploy.preflight`` evaluates them on a copy
of the snapshot whose service points at the would-be task definition. Both judge the service's task definition
(``RequestPath.task_definition``), so in a plain diagnosis they judge the revision the service runs now.

The model card (what the model needs at run time) is read by ``deploy`` before evaluation (from S3 or from disk:
a probe, not an evaluator's business) and handed over as ``ctx.probes["model_card"]``.
"""

from __future__ import annotations

from typing import Any

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip


def app_container(td_raw: dict, service: Any) -> dict:
    """The container behind the load balancer (the one a deploy changes), else the first one."""
    name = next((m.container_name for m in service.load_balancers if m.container_name), None) if service else None
    containers = td_raw.get("containerDefinitions") or [{}]
    return next((c for c in containers if c.get("name") == name), containers[0])


def model_uri(td_raw: dict, service: Any) -> str:
    """The ``MODEL_URI`` the app container is given ("" when none)."""
    env = {e["name"]: e.get("value", "") for e in app_container(td_raw, service).get("environment", [])}
    return env.get("MODEL_URI", "")


@evaluator("deploy.container-health-matches-tg", needs={"ecs", "task_definitions", "elbv2"}, hop="task_definition")
def container_health_matches_tg(ctx: Context, params: dict) -> Outcome:
    """The container health check asks for the path the target group health-checks, on the container's ``PORT``
    (when they diverge ECS replaces tasks the load balancer finds healthy, or keeps ones it does not: FM-05)."""
    snap, svc = ctx.snapshot, ctx.path.service
    td = ctx.path.task_definition(snap)
    if svc is None or td is None:
        return skip("No ECS service or task definition on the path.")
    tg_paths = sorted({snap.target_groups[a].health_check.path for a in svc.target_group_arns
                       if a in snap.target_groups} - {None, ""})
    if not tg_paths:
        return skip("No target group of the service states a health-check path.")
    problems, judged = [], 0
    for c in td.containers:
        cmd = " ".join((c.health_check or {}).get("command", []))
        if not cmd:
            continue
        judged += 1
        port = c.environment.get("PORT")
        if not any(p in cmd for p in tg_paths):
            problems.append(f"{c.name}'s health check ({cmd}) does not ask for {', '.join(tg_paths)}")
        if port and f":{port}" not in cmd and "$PORT" not in cmd and "localhost" in cmd:
            problems.append(f"{c.name}'s health check ({cmd}) does not use its PORT {port}")
    if not judged:
        return skip("No container of the task definition has a health check command.")
    if problems:
        return Outcome("fail", problems[0] + ": ECS would replace healthy tasks.", resources=[svc.arn],
                       expected=f"the container health check asks for {', '.join(tg_paths)}",
                       actual="; ".join(problems))
    return Outcome("pass", "The container health checks ask for the load balancer's path.", resources=[svc.arn])


@evaluator("deploy.memory-covers-model", needs={"ecs", "task_definitions"}, hop="task_definition")
def memory_covers_model(ctx: Context, params: dict) -> Outcome:
    """The task's memory is at least what the model card says the model needs (an OOM-killed task only shows up as
    a restart loop, long after the deploy). Without ``MODEL_URI`` the packaged model's card applies only to the
    reference service (``serves_reference_api``): another app without MODEL_URI loads no model of ours."""
    svc = ctx.path.service
    td = ctx.path.task_definition(ctx.snapshot)
    if svc is None or td is None:
        return skip("No ECS service or task definition on the path.")
    container = app_container(td.raw, svc)
    uri = model_uri(td.raw, svc)
    if not uri and not ctx.settings.serves_reference_api:
        return skip("No MODEL_URI, and the service is not declared as the reference service (serves_reference_api).")
    read = ctx.probes.get("model_card")
    if read is None:
        return skip("The model card was not read (shine-ops deploy reads it before a deploy).")
    card, where = read.get("card"), read.get("where", "the model card")
    need = ((card or {}).get("runtime") or {}).get("min_memory_mib")
    if card is None or not isinstance(need, (int, float)):
        why = f"no model card at {where}" if card is None else f"the model card {where} states no runtime.min_memory_mib"
        return skip(why[0].upper() + why[1:] + ".")
    have, source = None, ""
    for value, label in ((td.raw.get("memory"), "task memory"), (container.get("memory"), "container memory"),
                         (container.get("memoryReservation"), "container memoryReservation")):
        if value not in (None, ""):
            have, source = int(value), label
            break
    if have is None:
        return skip("The task definition states no memory figure.")
    model = uri or "the packaged model"
    if have < int(need):
        return Outcome("fail", f"The {source} is {have} MiB but the model card of {model} asks for at least "
                               f"{int(need)} MiB: the task would be killed for memory.", resources=[where],
                       expected=f">= {int(need)} MiB", actual=f"{have} MiB")
    return Outcome("pass", f"The {source} ({have} MiB) covers the {int(need)} MiB the model card of {model} asks for.")
