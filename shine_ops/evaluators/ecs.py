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


# --------------------------------------------------------------------------- tasks of the service
def service_tasks(snap, svc) -> list:
    """The service's tasks in the snapshot (ECS tags them ``group: service:<name>``; some emulators list the
    whole cluster for ``ListTasks(serviceName=...)``, so the group is checked too)."""
    return [t for t in snap.tasks.values()
            if t.group in (None, "", f"service:{svc.name}")
            and (not t.raw.get("clusterArn") or t.raw.get("clusterArn") == svc.cluster_arn)]


@evaluator("ecs.lb-container-matches-taskdef", needs={"ecs"}, hop="service")
def lb_container_matches_taskdef(ctx: Context, params: dict) -> Outcome:
    """The service's loadBalancers containerName exists in the task definition and its containerPort is one of
    that container's portMappings."""
    snap, svc = ctx.snapshot, ctx.path.service
    if not svc:
        return skip("No ECS service was found.")
    if not svc.load_balancers:
        return skip(f"{svc.key} has no load balancer mapping.")
    td = ctx.path.task_definition(snap)
    if td is None:
        return skip(f"The task definition {svc.task_definition} of {svc.key} was not found.")
    names = [c.name for c in td.containers]
    problems, good, evidence = [], [], []
    resources = [svc.arn, td.arn] + [m.target_group_arn for m in svc.load_balancers if m.target_group_arn]
    for m in svc.load_balancers:
        cdef = td.container(m.container_name)
        item = {"target_group": snap.tg_name(m.target_group_arn) if m.target_group_arn else None,
                "container_name": m.container_name, "container_port": m.container_port,
                "task_definition_containers": {c.name: c.container_ports for c in td.containers}}
        evidence.append(item)
        if cdef is None:
            problems.append(f"service {svc.key} maps container {m.container_name} to its target group, but task "
                            f"definition {td.label} has no such container (it has {', '.join(names) or 'none'})")
        elif m.container_port is not None and m.container_port not in cdef.container_ports:
            problems.append(f"service {svc.key} maps {m.container_name}:{m.container_port}, but that container only "
                            f"maps port(s) {', '.join(map(str, cdef.container_ports)) or 'none'} in {td.label}")
        else:
            good.append(f"{m.container_name}:{m.container_port} is in {td.label}")
    expected = "loadBalancers containerName/containerPort = a container and one of its portMappings"
    if problems:
        return Outcome("fail", f"The {problems[0]}: ECS cannot register the tasks in the target group, and updates "
                               "of the service fail.", resources=resources, expected=expected,
                       actual="; ".join(problems), evidence={"mappings": evidence})
    return Outcome("pass", "The service's load balancer mapping names a container and port of the task definition: "
                   + "; ".join(good) + ".", resources=resources, expected=expected, actual="; ".join(good),
                   evidence={"mappings": evidence})


@evaluator("ecs.port-env-matches-container", needs={"ecs"}, hop="task_definition")
def port_env_matches_container(ctx: Context, params: dict) -> Outcome:
    """A container's ``PORT`` environment value (when set) equals the port it maps (the load balancer's containerPort
    for the container behind the target group)."""
    snap, svc = ctx.snapshot, ctx.path.service
    if not svc:
        return skip("No ECS service was found.")
    td = ctx.path.task_definition(snap)
    if td is None:
        return skip(f"The task definition {svc.task_definition} of {svc.key} was not found.")
    lb_ports: dict[str, list[int]] = {}
    for m in svc.load_balancers:
        if m.container_name and m.container_port:
            lb_ports.setdefault(m.container_name, []).append(m.container_port)
    problems, good, evidence = [], [], []
    for c in td.containers:
        if "PORT" not in c.environment:
            continue
        raw = c.environment["PORT"]
        want = lb_ports.get(c.name) or c.container_ports
        item = {"container": c.name, "PORT": raw, "container_ports": c.container_ports,
                "load_balancer_ports": lb_ports.get(c.name, [])}
        evidence.append(item)
        try:
            value = int(str(raw).strip())
        except ValueError:
            problems.append(f"container {c.name} sets PORT={raw!r}, which is no port number")
            continue
        if want and value not in want:
            problems.append(f"container {c.name} sets PORT={value}, but its container port is "
                            f"{'/'.join(map(str, want))}")
        else:
            good.append(f"{c.name}: PORT={value}")
    resources = [td.arn, svc.arn]
    expected = "PORT = the container port"
    if not evidence:
        return Outcome("pass", f"No container of {td.label} sets PORT; nothing to compare.", resources=resources,
                       expected=expected, actual="PORT not set")
    if problems:
        return Outcome("fail", f"In {td.label}, {problems[0]}: the app listens on the wrong port, so health checks "
                               "are refused and requests get 502.", resources=resources, expected=expected,
                       actual="; ".join(problems), evidence={"containers": evidence})
    return Outcome("pass", f"{td.label}: " + "; ".join(good) + ", as the container port says.",
                   resources=resources, expected=expected, actual="; ".join(good),
                   evidence={"containers": evidence})


@evaluator("ecs.grace-period-covers-startup", needs={"ecs"}, hop="service")
def grace_period_covers_startup(ctx: Context, params: dict) -> Outcome:
    """A service behind a load balancer gives its tasks a health-check grace period of at least the startup budget
    (``startup_budget_s``, default 60 s); none set counts as 0."""
    svc = ctx.path.service
    if not svc:
        return skip("No ECS service was found.")
    if not svc.load_balancers:
        return skip(f"{svc.key} is not behind a load balancer: no health-check grace period applies.")
    budget = int(params.get("startup_budget_s") or ctx.settings.startup_budget_s)
    grace = int(svc.grace_period or 0)
    td = ctx.path.task_definition(ctx.snapshot)
    start_periods = {c.name: (c.health_check or {}).get("startPeriod") for c in (td.containers if td else [])
                     if c.health_check}
    evidence = {"health_check_grace_period_s": svc.grace_period, "startup_budget_s": budget,
                "container_health_check_start_period_s": start_periods}
    base = dict(resources=[svc.arn], expected=f"healthCheckGracePeriodSeconds >= {budget}",
                actual=f"healthCheckGracePeriodSeconds = {grace}"
                + ("" if svc.grace_period is not None else " (not set)"),
                evidence=evidence)
    if grace < budget:
        return Outcome("fail", f"Service {svc.key} gives new tasks {grace} s before failed load-balancer health checks "
                               f"count, but the app may need {budget} s to start: ECS can kill tasks that are still "
                               "starting.", **base)
    return Outcome("pass", f"Service {svc.key} gives new tasks {grace} s to start (budget {budget} s).", **base)


# Why a task stopped, by the words ECS uses (stoppedReason, container reason, stopCode, service events).
_CRASH_PATTERNS: list[tuple[str, str, str]] = [
    # (kind, needle (lower case), what it means)
    ("image-pull", "cannotpullcontainer", "the image could not be pulled (wrong tag, no ECR permission, or no route "
                                          "to the registry)"),
    ("resource-init", "resourceinitializationerror", "the task could not start: secrets or parameters could not be "
                                                     "fetched, or the log/ENI setup failed"),
    ("oom", "outofmemory", "the container ran out of memory and was killed (exit 137)"),
    ("elb-health", "failed elb health checks", "the load balancer's health checks failed, so ECS replaced the task"),
    ("container-health", "failed container health checks", "the container's own health check failed"),
    ("container-health", "unhealthy", "the task was unhealthy"),
    ("start-failed", "cannotstartcontainer", "the container could not start"),
    ("start-failed", "cannotcreatecontainer", "the container could not be created"),
    ("start-failed", "containerruntimeerror", "the container runtime failed"),
    ("placement", "unable to place", "ECS could not place the task"),
    ("start-failed", "unable to consistently start tasks", "ECS could not start tasks successfully"),
    ("rollout-failed", "circuit breaker", "the deployment circuit breaker stopped the rollout"),
    ("exited", "essential container in task exited", "the app exited"),
]
_BENIGN = ("scaling activity initiated by", "task stopped by user", "deployment", "spot interruption",
           "serviceschedulerinitiated", "userinitiated")


def _classify(texts: list[str], exit_codes: list[int]) -> tuple[str, str] | None:
    joined = " | ".join(t for t in texts if t).lower()
    if "outofmemory" in joined:
        return "oom", "the container ran out of memory and was killed" + (" (exit 137)" if 137 in exit_codes else "")
    if 137 in exit_codes and "essential container in task exited" in joined:
        return "oom", "the container was killed (exit 137, usually out of memory)"
    for kind, needle, words in _CRASH_PATTERNS:
        if needle in joined:
            if kind == "exited" and exit_codes:
                return kind, f"the app exited with code {exit_codes[0]}"
            return kind, words
    if exit_codes and any(c != 0 for c in exit_codes) and not any(b in joined for b in _BENIGN):
        return "exited", f"the app exited with code {next(c for c in exit_codes if c != 0)}"
    return None


@evaluator("ecs.tasks-not-crashing", needs={"ecs", "tasks"}, hop="service")
def tasks_not_crashing(ctx: Context, params: dict) -> Outcome:
    """No task of the service stopped abnormally (out of memory, essential container exited, image pull, secrets,
    failing health checks), no running task is unhealthy, and no service event since the last steady state reports
    such a failure."""
    snap, svc = ctx.snapshot, ctx.path.service
    if not svc:
        return skip("No ECS service was found.")
    tasks = service_tasks(snap, svc)
    crashed, benign, unhealthy = [], [], []
    for t in tasks:
        containers = t.raw.get("containers") or []
        if t.last_status == "STOPPED" or t.desired_status == "STOPPED":
            codes = [int(c["exitCode"]) for c in containers if c.get("exitCode") is not None]
            texts = [t.stopped_reason or "", t.raw.get("stopCode") or ""] + [c.get("reason") or "" for c in containers]
            item = {"task": t.arn, "last_status": t.last_status, "stopped_reason": t.stopped_reason,
                    "stop_code": t.raw.get("stopCode"),
                    "containers": [{"name": c.get("name"), "exit_code": c.get("exitCode"), "reason": c.get("reason")}
                                   for c in containers]}
            verdict = _classify(texts, codes)
            if verdict:
                item["kind"], item["meaning"] = verdict
                crashed.append(item)
            else:
                benign.append(item)
        elif (t.health or "").upper() == "UNHEALTHY" or any((c.get("healthStatus") or "").upper() == "UNHEALTHY"
                                                            for c in containers):
            unhealthy.append({"task": t.arn, "kind": "container-health",
                              "meaning": "the container's own health check fails"})
    events = []
    for ev in svc.events:  # ECS lists events newest first; older ones than the last steady state are history
        msg = str(ev.get("message", ""))
        if "reached a steady state" in msg:
            break
        verdict = _classify([msg], [])
        if verdict:
            events.append({"message": msg, "created_at": str(ev.get("createdAt", "")), "kind": verdict[0],
                           "meaning": verdict[1]})
    resources = [svc.arn] + [c["task"] for c in crashed + unhealthy]
    evidence = {"stopped_tasks": crashed + benign, "unhealthy_tasks": unhealthy, "failure_events": events,
                "tasks_seen": len(tasks)}
    expected = "no abnormal stops, no unhealthy tasks, no failure events since the last steady state"
    if crashed or unhealthy or events:
        first = (crashed or unhealthy or events)[0]
        what = next((c["reason"] for c in first.get("containers", []) if c.get("reason")), None) \
            or first.get("stopped_reason") or first.get("message") or "unhealthy"
        code = next((c["exit_code"] for c in first.get("containers", []) if c.get("exit_code")), None)
        if code is not None and f"exit {code}" in first["meaning"]:
            code = None
        counts = []
        if crashed:
            counts.append(f"{len(crashed)} task(s) stopped abnormally")
        if unhealthy:
            counts.append(f"{len(unhealthy)} running task(s) unhealthy")
        if events:
            counts.append(f"{len(events)} failure event(s)")
        return Outcome("fail", f"Tasks of {svc.key} keep failing: {first['meaning']} "
                               f"(\"{what}\"{f', exit {code}' if code is not None else ''}); "
                               + ", ".join(counts) + ".",
                       resources=resources, expected=expected, actual="; ".join(counts), evidence=evidence)
    note = f" ({len(benign)} stopped for ordinary reasons)" if benign else ""
    return Outcome("pass", f"No task of {svc.key} crashed{note} and no recent service event reports a failure.",
                   resources=resources, expected=expected, actual=f"{len(tasks)} task(s) seen, none crashed",
                   evidence=evidence)
