"""Target-group hop: the registered targets are the service's tasks, and they are healthy.

The port and health-check judgements live in ``tg_ports`` and ``healthcheck``; this module keeps the checks
over the registered targets themselves.
"""

from __future__ import annotations

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip
from shine_ops.evaluators.healthcheck import matcher_admits  # noqa: F401 - the one ALB matcher parser, re-exported
from shine_ops.evaluators.tg_ports import _service_tgs, serving_task_definition


@evaluator("tg.targets-registered", needs={"elbv2", "ecs", "tasks", "target_health"}, hop="targets")
def targets_registered(ctx: Context, params: dict) -> Outcome:
    """The addresses registered in the service's target groups are exactly its running tasks' addresses: no stale
    target (registered, no task behind it) and no running task missing."""
    from shine_ops.evaluators.ecs import service_tasks

    snap, svc = ctx.snapshot, ctx.path.service
    if not svc:
        return skip("No ECS service was found.")
    pairs = [(m, tg) for m, tg in _service_tgs(ctx) if tg.targets is not None]
    if not pairs:
        return skip("The service's target groups (or their targets) were not found.")
    tasks = service_tasks(snap, svc)
    wanted = [t for t in tasks if t.desired_status != "STOPPED"]  # ECS keeps these; stopping ones drain
    live = {a: t for t in wanted for a in t.addresses}
    running = {a: t for t in wanted if t.last_status == "RUNNING" for a in t.addresses}
    td = serving_task_definition(ctx)
    awsvpc = td.network_mode == "awsvpc" if td else bool(svc.security_groups)
    stale, missing, evidence, resources, simulated = [], [], [], [], False
    wrong_type, empty = [], []
    for m, tg in pairs:
        resources.append(tg.arn)
        simulated = simulated or any(t.simulated for t in tg.targets)
        if tg.target_type == "instance" and awsvpc:  # ECS refuses to register awsvpc tasks in it
            wrong_type.append(tg)
            evidence.append({"target_group": tg.name, "target_type": tg.target_type, "network_mode": "awsvpc",
                             "registered": sorted(f"{t.id}:{t.port}" for t in tg.targets)})
            continue
        if tg.target_type != "ip":
            evidence.append({"target_group": tg.name, "target_type": tg.target_type,
                             "note": "only ip targets are compared with task addresses"})
            continue
        registered = {t.id: t for t in tg.targets if t.state != "draining"}
        tg_stale = sorted(a for a in registered if a not in live)
        tg_missing = sorted(a for a in running if a not in registered)
        if not registered and not running:
            empty.append(tg)
        stale += [(tg, a, registered[a]) for a in tg_stale]
        missing += [(tg, a, running[a]) for a in tg_missing]
        evidence.append({"target_group": tg.name, "registered": sorted(f"{t.id}:{t.port}" for t in registered.values()),
                         "task_addresses": sorted(live), "stale": tg_stale, "missing": tg_missing})
    resources += [a for _, a, _ in stale] + [t.arn for _, _, t in missing]
    ev = {"target_groups": evidence, "tasks": {t.arn: {"last_status": t.last_status, "addresses": t.addresses}
                                                for t in wanted}}
    if simulated:
        ev["simulated"] = True
    expected = "registered targets = the running tasks' addresses"
    actual = "; ".join([f"{tg.name}: {a} registered, no task behind it" for tg, a, _ in stale]
                       + [f"{tg.name}: task {a} running, not registered" for tg, a, _ in missing]) or \
        f"{len(live)} task address(es), all registered and nothing else"
    if wrong_type:
        tg = wrong_type[0]
        return Outcome("fail", f"Target group {tg.name} has target type instance, but {svc.key} runs awsvpc tasks: ECS "
                               "cannot register them, so the group lists none of its tasks (it needs an ip target "
                               "group).", resources=resources, expected="an ip target group for awsvpc tasks",
                       actual=f"{tg.name}: target type instance", evidence=ev)
    if stale:
        tg, a, th = stale[0]
        more = f" (and {len(stale) + len(missing) - 1} more)" if len(stale) + len(missing) > 1 else ""
        where = f"{a}:{th.port}" if th.port is not None else a  # a target registered without a port: its id
        return Outcome("fail", f"Target group {tg.name} still sends traffic to {where}, which no running task "
                               f"of {svc.key} has{more}: deregister the stale target.", resources=resources,
                       expected=expected, actual=actual, evidence=ev)
    if missing:
        tg, a, t = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        return Outcome("fail", f"Task {a} of {svc.key} is running but not registered in target group {tg.name}"
                               f"{more}: it never receives traffic.", resources=resources, expected=expected,
                       actual=actual, evidence=ev)
    if empty:
        tg = empty[0]
        why = (f"{svc.key} runs no task ({svc.running}/{svc.desired} running)" if svc.running == 0
               else f"none of the {svc.running} running task(s) of {svc.key} has an address shine-ops could read"
               if not live else "its tasks were deregistered")
        return Outcome("fail", f"Target group {tg.name} lists no targets: {why}; the load balancer answers 503.",
                       resources=resources, expected=expected, actual=f"{tg.name}: no targets; {why}", evidence=ev)
    return Outcome("pass", f"The target groups of {svc.key} list exactly its {len(live)} task address(es).",
                   resources=resources, expected=expected, actual=actual, evidence=ev)


# Target health reason codes, in words, with the configuration checks that usually explain them.
TARGET_REASONS: dict[str, tuple[str, list[str]]] = {
    "Target.Timeout": ("the health check got no answer in time: a security group or network ACL drops the load "
                       "balancer's traffic, or nothing listens on the port",
                       ["sg.alb-to-task-ingress", "sg.alb-egress-to-task", "nacl.alb-to-task",
                        "tg.port-matches-container", "ecs.port-env-matches-container", "tg.health-check-matches-app"]),
    "Target.ResponseCodeMismatch": ("the app answered the health check with a code the matcher does not accept "
                                    "(often a 404 on the wrong path)", ["tg.health-check-matches-app"]),
    "Target.FailedHealthChecks": ("the health checks failed (connection refused or an error): the app does not "
                                  "listen on the health-check port, or is crashing",
                                  ["tg.port-matches-container", "ecs.port-env-matches-container",
                                   "tg.health-check-matches-app", "ecs.lb-container-matches-taskdef",
                                   "ecs.tasks-not-crashing"]),
    "Target.NotInUse": ("no listener rule of a load balancer forwards to this target group",
                        ["listener.routes-to-service"]),
    "Target.NotRegistered": ("the target is not registered in the target group", ["tg.targets-registered"]),
    "Target.InvalidState": ("the target is stopped or terminated", ["ecs.service-running", "ecs.tasks-not-crashing",
                                                                     "tg.targets-registered"]),
    "Target.DeregistrationInProgress": ("the target is being deregistered (draining)", ["tg.targets-registered"]),
    "Target.IpUnusable": ("the target's IP address is in use by the load balancer or unusable",
                          ["tg.targets-registered"]),
    "Target.HealthCheckDisabled": ("health checks are disabled on the target group", ["tg.health-check-matches-app"]),
    "Elb.InitialHealthChecking": ("the load balancer is still running the first health checks",
                                  ["ecs.grace-period-covers-startup"]),
    "Elb.InternalError": ("the load balancer had an internal error", []),
}
_BAD_STATES = ("unhealthy", "unused", "unavailable")
_TRANSITIONAL = ("initial", "draining")


@evaluator("tg.targets-healthy", needs={"elbv2", "ecs", "target_health"}, hop="targets")
def targets_healthy(ctx: Context, params: dict) -> Outcome:
    """Every target of the service's target groups is healthy; each reason code is explained in words and linked
    to the configuration checks that usually cause it. A consequence: when one of those checks fails, that one is the
    root cause. A healthy target never makes a configuration check pass."""
    svc = ctx.path.service
    if not svc:
        return skip("No ECS service was found.")
    pairs = [(m, tg) for m, tg in _service_tgs(ctx) if tg.targets is not None]
    if not pairs:
        return skip("The service's target groups (or their target health) were not found.")
    rows, bad, transitional, empty, resources, simulated = [], [], [], [], [], False
    for _m, tg in pairs:
        resources.append(tg.arn)
        if not tg.targets:
            empty.append(tg)
        for t in tg.targets:
            simulated = simulated or t.simulated
            meaning, causes = TARGET_REASONS.get(t.reason or "", ("", []))
            row = {"target_group": tg.name, "target": f"{t.id}:{t.port}", "state": t.state, "reason": t.reason,
                   "description": t.description, "meaning": meaning or None, "likely_causes": causes}
            rows.append(row)
            if t.state in _BAD_STATES:
                bad.append(row)
            elif t.state in _TRANSITIONAL:
                transitional.append(row)
    healthy = [r for r in rows if r["state"] == "healthy"]
    evidence: dict = {"targets": rows}
    if simulated:
        evidence["simulated"] = True
    likely = list(dict.fromkeys(c for r in bad + transitional for c in r["likely_causes"]))
    if likely:
        evidence["likely_causes"] = likely
    expected = "every target healthy"
    actual = ", ".join(f"{r['target']} {r['state']}" + (f" ({r['reason']})" if r["reason"] else "") for r in rows) \
        or "no targets registered"
    if bad:
        r = bad[0]
        words = r["meaning"] or (r["description"] or r["state"])
        return Outcome("fail", f"{len(bad)} of {len(rows)} target(s) of {r['target_group']} "
                               f"{'is' if len(bad) == 1 else 'are'} {r['state']} ({r['reason'] or 'no reason given'}): "
                               f"{words}.", resources=resources, expected=expected, actual=actual, evidence=evidence)
    if empty and not healthy:
        return Outcome("fail", f"Target group {empty[0].name} has no registered targets: the load balancer answers "
                               "503.", resources=resources, expected=expected, actual=actual, evidence=evidence)
    if transitional:
        r = transitional[0]
        return Outcome("warn", f"{len(transitional)} target(s) of {r['target_group']} are {r['state']} "
                               f"({r['reason'] or 'no reason given'}): {r['meaning'] or 'in transition'}.",
                       resources=resources, expected=expected, actual=actual, evidence=evidence)
    return Outcome("pass", f"All {len(rows)} target(s) of the service's target groups are healthy"
                   + (" (simulated)" if simulated else "") + ".", resources=resources, expected=expected,
                   actual=actual, evidence=evidence)
