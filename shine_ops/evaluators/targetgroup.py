"""Target-group hop: the group sends traffic to the port the container listens on."""

from __future__ import annotations

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip
from shine_ops.topology.model import ServiceLoadBalancer, TargetGroup


@evaluator("tg.port-matches-container", needs={"elbv2", "ecs"}, hop="target_group")
def port_matches_container(ctx: Context, params: dict) -> Outcome:
    """The target group's port equals the container port the service maps to it."""
    snap, svc = ctx.snapshot, ctx.path.service
    if not svc:
        return skip("No ECS service was found.")
    if not svc.load_balancers:
        return skip(f"{svc.key} has no load balancer mapping.")
    td = ctx.path.task_definition(snap)
    problems, good, resources, evidence = [], [], [], []
    for m in svc.load_balancers:
        tg = snap.target_groups.get(m.target_group_arn or "")
        if tg is None:
            if m.target_group_arn in snap.missing_target_groups:
                resources.append(m.target_group_arn)
                evidence.append({"target_group": m.target_group_arn, "exists": False})
                problems.append(f"service maps container {m.container_name} to target group "
                                f"{m.target_group_arn.split('/')[-2]}, which no longer exists")
            continue
        resources.append(tg.arn)
        cdef = td.container(m.container_name) if td else None
        port = m.container_port or (cdef.container_ports[0] if cdef and cdef.container_ports else None)
        item = {"target_group": tg.name, "target_group_port": tg.port, "container": m.container_name,
                "container_port": port, "target_type": tg.target_type}
        if td and td.network_mode == "bridge" and tg.target_type == "instance":
            mapping = next((p for p in (cdef.port_mappings if cdef else []) if p.get("containerPort") == port), {})
            if not mapping.get("hostPort"):
                item["note"] = "bridge mode with dynamic host ports: targets register with their own ports"
                evidence.append(item)
                good.append(f"{tg.name}: dynamic host ports")
                continue
        evidence.append(item)
        if port is None:
            problems.append(f"{tg.name} is on port {tg.port}, but the service names no container port")
        elif tg.port != port:
            problems.append(f"target group {tg.name} sends traffic to port {tg.port}, "
                            f"but container {m.container_name} listens on {port}")
        else:
            good.append(f"{tg.name}:{tg.port} = {m.container_name}:{port}")
    if td:
        resources.append(td.arn)
    if not evidence:
        return skip("The service's target groups were not found.")
    if problems:
        return Outcome("fail", f"The {problems[0]}: health checks and requests hit a port nothing listens on.",
                       resources=resources, expected="target group port = container port",
                       actual="; ".join(problems), evidence={"mappings": evidence})
    return Outcome("pass", "Target group ports match the container ports: " + "; ".join(good) + ".",
                   resources=resources, expected="target group port = container port", actual="; ".join(good),
                   evidence={"mappings": evidence})


# --------------------------------------------------------------------------- health checks and targets
def matcher_admits(matcher: str | None, code: int = 200) -> bool:
    """ALB matcher syntax: "200", "200,302", "200-299" (absent: 200)."""
    for part in (matcher or "200").split(","):
        part = part.strip()
        try:
            if "-" in part:
                lo, hi = part.split("-", 1)
                if int(lo) <= code <= int(hi):
                    return True
            elif part and int(part) == code:
                return True
        except ValueError:
            continue
    return False


def _service_tgs(ctx: Context) -> list[tuple[ServiceLoadBalancer, TargetGroup]]:
    """(mapping, target group) for each of the service's load balancer mappings whose group was found."""
    svc = ctx.path.service
    return [(m, ctx.snapshot.target_groups[m.target_group_arn]) for m in (svc.load_balancers if svc else [])
            if m.target_group_arn in ctx.snapshot.target_groups]


@evaluator("tg.health-check-matches-app", needs={"elbv2", "ecs"}, hop="target_group")
def health_check_matches_app(ctx: Context, params: dict) -> Outcome:
    """The target group health-checks the app where it answers: HTTP(S), on the traffic port or the container port,
    on ``health_path`` (default /health), with a matcher that admits 200."""
    svc = ctx.path.service
    if not svc:
        return skip("No ECS service was found.")
    if not svc.load_balancers:
        return skip(f"{svc.key} has no load balancer mapping.")
    pairs = _service_tgs(ctx)
    if not pairs:
        return skip("The service's target groups were not found.")
    want = params.get("health_path") or ctx.settings.health_path
    problems, good, evidence, resources = [], [], [], []
    for m, tg in pairs:
        hc = tg.health_check
        resources.append(tg.arn)
        port = m.container_port
        desc = f"{hc.protocol} {hc.port} {hc.path or '/'} matcher {hc.matcher or '200'}"
        evidence.append({"target_group": tg.name, "protocol": hc.protocol, "port": hc.port, "path": hc.path,
                         "matcher": hc.matcher, "container_port": port, "health_path": want})
        issues = []
        if (hc.protocol or "").upper() not in ("HTTP", "HTTPS"):
            issues.append(f"uses {hc.protocol}, not HTTP(S), so it never asks the app for {want}")
        else:
            if hc.port not in ("traffic-port", "") and port is not None and hc.port != str(port):
                issues.append(f"probes port {hc.port}, but container {m.container_name} listens on {port}")
            if (hc.path or "/") != want:
                issues.append(f"asks for {hc.path or '/'}, but the app's health endpoint is {want}")
            if not matcher_admits(hc.matcher):
                issues.append(f"accepts only HTTP {hc.matcher}, not the 200 the app answers")
        if issues:
            problems.append(f"{tg.name} " + " and ".join(issues))
        else:
            good.append(f"{tg.name}: {desc}")
    expected = f"HTTP(S), traffic-port or the container port, path {want}, matcher admitting 200"
    if problems:
        return Outcome("fail", f"The health check of target group {problems[0]}: healthy tasks are marked unhealthy "
                               "and taken out of service.", resources=resources, expected=expected,
                       actual="; ".join(problems), evidence={"health_checks": evidence})
    return Outcome("pass", "Health checks ask the app where it answers: " + "; ".join(good) + ".",
                   resources=resources, expected=expected, actual="; ".join(good),
                   evidence={"health_checks": evidence})


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
    stale, missing, evidence, resources, simulated = [], [], [], [], False
    for m, tg in pairs:
        resources.append(tg.arn)
        simulated = simulated or any(t.simulated for t in tg.targets)
        if tg.target_type != "ip":
            evidence.append({"target_group": tg.name, "target_type": tg.target_type,
                             "note": "only ip targets are compared with task addresses"})
            continue
        registered = {t.id: t for t in tg.targets if t.state != "draining"}
        tg_stale = sorted(a for a in registered if a not in live)
        tg_missing = sorted(a for a in running if a not in registered)
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
    if stale:
        tg, a, th = stale[0]
        more = f" (and {len(stale) + len(missing) - 1} more)" if len(stale) + len(missing) > 1 else ""
        return Outcome("fail", f"Target group {tg.name} still sends traffic to {a}:{th.port}, which no running task "
                               f"of {svc.key} has{more}: deregister the stale target.", resources=resources,
                       expected=expected, actual=actual, evidence=ev)
    if missing:
        tg, a, t = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        return Outcome("fail", f"Task {a} of {svc.key} is running but not registered in target group {tg.name}"
                               f"{more}: it never receives traffic.", resources=resources, expected=expected,
                       actual=actual, evidence=ev)
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
