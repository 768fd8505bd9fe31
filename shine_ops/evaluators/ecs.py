"""ECS hop: the service exists, is active, and runs the tasks it wants."""

from __future__ import annotations

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip
from shine_ops.evaluators import ecs_evidence as E


@evaluator("ecs.service-running", needs={"ecs"}, hop="service")
def service_running(ctx: Context, params: dict) -> Outcome:
    """The service exists, is ACTIVE, runs as many tasks as it wants (more than 0), and its rollout has neither
    failed nor been rolled back; ``warn`` while a rollout is in progress. Says which revision the tasks run."""
    path, snap, svc = ctx.path, ctx.snapshot, ctx.path.service
    if path.requested_service and path.requested_service in snap.missing_services:
        cluster, name = path.requested_service.split("/", 1)
        return Outcome("fail", f"ECS service {name} does not exist in cluster {cluster} (MISSING): nothing can serve "
                               "the traffic.", resources=[path.requested_service],
                       expected="an ACTIVE service", actual="MISSING")
    if not svc:
        return skip("No ECS service was found behind the domain or any other load balancer.")
    serving = E.serving_text(path, snap)
    actual = (f"status {svc.status}, {svc.running}/{svc.desired} running, {svc.pending} pending"
              + (f", rollout {svc.rollout_state}" if svc.rollout_state else "") + (f"; {serving}" if serving else ""))
    evidence: dict = {"status": svc.status, "desired": svc.desired, "running": svc.running, "pending": svc.pending,
                      "rollout_state": svc.rollout_state, "task_definition": svc.task_definition,
                      "deployment_controller": svc.deployment_controller,
                      "serving_revisions": [E.rev(a) for a in path.serving_task_definition_arns(snap)]}
    if svc.deployments:
        evidence["deployments"] = E.deployment_evidence(svc)
    if svc.task_sets:
        evidence["task_sets"] = E.task_set_evidence(svc)
    if any(d.simulated for d in svc.deployments):
        evidence["simulated"] = True
    base = dict(resources=[svc.arn], expected="ACTIVE, running = desired > 0, no rollout in progress, failed or "
                                              "rolled back", actual=actual, evidence=evidence)
    runs = f" ({serving})" if serving else ""
    if svc.status != "ACTIVE":
        return Outcome("fail", f"Service {svc.key} is {svc.status}, not ACTIVE.", **base)
    if svc.desired == 0:
        return Outcome("fail", f"Service {svc.key} wants 0 tasks, so nothing serves its target group.", **base)
    verdict = _task_sets_verdict(svc, serving) if svc.uses_task_sets else _deployments_verdict(svc, serving)
    if verdict is not None:
        return Outcome(verdict[0], verdict[1], **base)
    if svc.running < svc.desired:
        return Outcome("fail", f"Service {svc.key} runs {svc.running} of the {svc.desired} tasks it wants "
                               f"({svc.pending} pending){runs}.", **base)
    return Outcome("pass", f"Service {svc.key} is ACTIVE with {svc.running}/{svc.desired} tasks running"
                           + (f", on {', '.join(evidence['serving_revisions'])}" if evidence["serving_revisions"] else "")
                           + ".", **base)


def _deployments_verdict(svc, serving: str) -> tuple[str, str] | None:
    """Rolling-update (ECS) deployments: a FAILED rollout or the circuit breaker's rollback fails; a rollout in
    progress warns while something serves (fails when nothing does). None: no rollout to speak of."""
    primary = svc.primary_deployment
    failed = [d for d in svc.deployments if d.rollout_state == "FAILED"]
    rollback = primary is not None and E.rolling_back(primary)
    serves = f"; now {serving}" if serving else "; no task runs"
    if failed or rollback:
        bad = failed[0] if failed else None
        text = f"The rollout of {svc.key}"
        if bad is not None:
            text += f" to {bad.revision} FAILED ({bad.reason or 'no reason given'})"
        if rollback and primary is not None:
            text += (" and" if bad is not None else "") + f" was rolled back to {primary.revision} " \
                                                          f"({primary.reason})"
        return "fail", text + serves + "."
    active = [d for d in svc.deployments if d.status == "ACTIVE"]
    if primary is None or not (primary.rollout_state == "IN_PROGRESS" or active):
        return None
    out = f"{primary.running}/{primary.desired} running" + (f", {primary.pending} pending" if primary.pending else "") \
        + (f", {primary.failed_tasks} failed" if primary.failed_tasks else "")
    if svc.running == 0:
        return "fail", (f"Service {svc.key} runs 0 of the {svc.desired} tasks it wants ({svc.pending} pending) while "
                        f"rolling out {primary.revision} ({out}): nothing serves.")
    return "warn", (f"Service {svc.key} is rolling out {primary.revision} ({out}); {serving or 'older revisions serve'}"
                    ". Traffic is served; the task-definition checks judge both revisions.")


def _task_set_text(t) -> str:
    """``api:3 PRIMARY 2/2 running (STEADY_STATE, scale 100%)``."""
    notes = [t.stability_status] if t.stability_status else []
    if t.scale and t.scale.get("value") is not None:
        notes.append(f"scale {float(t.scale['value']):g}{'%' if t.scale.get('unit') == 'PERCENT' else ''}")
    # a member DescribeServices left out is left out of the sentence too (never "?" or a double space)
    name = t.revision if t.task_definition else (f"task set {t.id}" if t.id else "a task set naming no revision")
    head = " ".join(x for x in (name, t.status) if x)
    return f"{head} {t.running}/{t.computed_desired} running" + (f" ({', '.join(notes)})" if notes else "")


def _task_sets_verdict(svc, serving: str) -> tuple[str, str] | None:
    """CODE_DEPLOY / EXTERNAL controllers: several task sets, or one still STABILIZING, is a deployment in
    progress (warn); no task in any task set is a failure. None: one task set in its steady state."""
    sets = svc.task_sets
    running = sum(t.running for t in sets)
    desc = "; ".join(_task_set_text(t) for t in sets)
    ctl = svc.deployment_controller
    if not sets:
        if svc.running == 0:
            return "fail", f"Service {svc.key} ({ctl} controller) has no task set and runs no task: nothing serves."
        return None
    if running == 0 and svc.running == 0:
        return "fail", f"Service {svc.key} ({ctl} controller) runs no task in any task set: {desc}."
    if len(sets) > 1 or any(t.stability_status == "STABILIZING" for t in sets):
        return "warn", (f"Service {svc.key} ({ctl} controller) is deploying: {desc}"
                        + (f"; now {serving}" if serving else "") + ".")
    primary = sets[0]
    if primary.running < primary.computed_desired:
        return "fail", (f"Service {svc.key} ({ctl} controller) runs {primary.running} of the "
                        f"{primary.computed_desired} tasks its task set wants: {desc}.")
    return None


# --------------------------------------------------------------------------- tasks of the service
def service_tasks(snap, svc) -> list:
    """The service's tasks in the snapshot (ECS tags them ``group: service:<name>``; some emulators list the
    whole cluster for ``ListTasks(serviceName=...)``, so the group is checked too)."""
    return [t for t in snap.tasks.values()
            if t.group in (None, "", f"service:{svc.name}")
            and (not t.raw.get("clusterArn") or t.raw.get("clusterArn") == svc.cluster_arn)]


def _no_revision(svc) -> Outcome:
    """Why no revision could be judged: the one the service names was not found, or it names none at all (an
    EXTERNAL/CODE_DEPLOY service answers without ``taskDefinition``; its task sets name them)."""
    named = svc.named_revisions()
    if not named:
        return skip(f"{svc.key} names no task definition (neither the service nor a deployment or task set does).",
                    resources=[svc.arn])
    return skip(f"The task definition {', '.join(named)} of {svc.key} was not found.", resources=[svc.arn])


@evaluator("ecs.lb-container-matches-taskdef", needs={"ecs", "task_definitions", "tasks"}, hop="service")
def lb_container_matches_taskdef(ctx: Context, params: dict) -> Outcome:
    """The service's loadBalancers containerName exists in each task definition revision that runs (and the PRIMARY
    one) and its containerPort is one of that container's portMappings."""
    snap, svc = ctx.snapshot, ctx.path.service
    if not svc:
        return skip("No ECS service was found.")
    if not svc.load_balancers:
        return skip(f"{svc.key} has no load balancer mapping.")
    revs = E.revisions(ctx.path, snap)
    if not revs.judged:
        return _no_revision(svc)
    problems, good, evidence = [], [], []
    resources = [svc.arn] + [td.arn for td in revs.judged] + [m.target_group_arn for m in svc.load_balancers
                                                              if m.target_group_arn]
    for td in revs.judged:
        names = [c.name for c in td.containers]
        for m in svc.load_balancers:
            cdef = td.container(m.container_name)
            evidence.append({"task_definition": td.label, "role": revs.role(td),
                             "target_group": snap.tg_name(m.target_group_arn) if m.target_group_arn else None,
                             "container_name": m.container_name, "container_port": m.container_port,
                             "task_definition_containers": {c.name: c.container_ports for c in td.containers}})
            if cdef is None:
                problems.append(f"service {svc.key} maps container {m.container_name} to its target group, but task "
                                f"definition {revs.name(td)} has no such container (it has {', '.join(names) or 'none'})")
            elif m.container_port is not None and m.container_port not in cdef.container_ports:
                problems.append(f"service {svc.key} maps {m.container_name}:{m.container_port}, but that container "
                                f"only maps port(s) {', '.join(map(str, cdef.container_ports)) or 'none'} in "
                                f"{revs.name(td)}")
            else:
                good.append(f"{m.container_name}:{m.container_port} is in {revs.name(td)}")
    expected = "loadBalancers containerName/containerPort = a container and one of its portMappings, in every " \
               "revision that runs or rolls out"
    ev = {"mappings": evidence, **revs.evidence()}
    if problems:
        return Outcome("fail", f"The {problems[0]}: ECS cannot register the tasks in the target group, and updates "
                               "of the service fail." + revs.note, resources=resources, expected=expected,
                       actual="; ".join(problems), evidence=ev)
    return Outcome("pass", "The service's load balancer mapping names a container and port of the task definition: "
                   + "; ".join(good) + "." + revs.note, resources=resources, expected=expected,
                   actual="; ".join(good), evidence=ev)


@evaluator("ecs.port-env-matches-container", needs={"ecs", "task_definitions", "tasks"}, hop="task_definition")
def port_env_matches_container(ctx: Context, params: dict) -> Outcome:
    """A container's ``PORT`` environment value (when set) equals the port it maps (the load balancer's containerPort
    for the container behind the target group), in each revision that runs (and the PRIMARY one)."""
    snap, svc = ctx.snapshot, ctx.path.service
    if not svc:
        return skip("No ECS service was found.")
    revs = E.revisions(ctx.path, snap)
    if not revs.judged:
        return _no_revision(svc)
    lb_ports: dict[str, list[int]] = {}
    for m in svc.load_balancers:
        if m.container_name and m.container_port:
            lb_ports.setdefault(m.container_name, []).append(m.container_port)
    problems, good, evidence = [], [], []
    for td in revs.judged:
        for c in td.containers:
            if "PORT" not in c.environment:
                continue
            raw = c.environment["PORT"]
            want = lb_ports.get(c.name) or c.container_ports
            evidence.append({"task_definition": td.label, "role": revs.role(td), "container": c.name, "PORT": raw,
                             "container_ports": c.container_ports, "load_balancer_ports": lb_ports.get(c.name, [])})
            try:
                value = int(str(raw).strip())
            except ValueError:
                shown = f"PORT={raw!r}" if str(raw).strip() else "PORT to an empty value"
                problems.append((td, f"container {c.name} sets {shown}, which is no port number"))
                continue
            if want and value not in want:
                problems.append((td, f"container {c.name} sets PORT={value}, but its container port is "
                                     f"{'/'.join(map(str, want))}"))
            else:
                good.append(f"{revs.name(td)}: {c.name} PORT={value}")
    resources = [td.arn for td in revs.judged] + [svc.arn]
    expected = "PORT = the container port"
    labels = ", ".join(revs.name(td) for td in revs.judged)
    if not evidence:
        return Outcome("skip", f"No container of {labels} sets PORT; nothing to compare." + revs.note,
                       resources=resources, expected=expected, actual="PORT not set", evidence=revs.evidence())
    ev = {"containers": evidence, **revs.evidence()}
    if problems:
        td, first = problems[0]
        return Outcome("fail", f"In {revs.name(td)}, {first}: the app listens on the wrong port, so health checks "
                               "are refused and requests get 502." + revs.note, resources=resources,
                       expected=expected, actual="; ".join(f"{t.label}: {p}" for t, p in problems), evidence=ev)
    return Outcome("pass", "; ".join(good) + ", as the container port says." + revs.note,
                   resources=resources, expected=expected, actual="; ".join(good), evidence=ev)


@evaluator("ecs.grace-period-covers-startup", needs={"ecs", "task_definitions", "tasks", "target_health"},
           hop="service", params={"startup_budget_s": {"type": "number", "exclusiveMinimum": 0}})
def grace_period_covers_startup(ctx: Context, params: dict) -> Outcome:
    """A service behind a load balancer gives its tasks a health-check grace period that covers their start-up
    (none set counts as 0). Against ``startup_budget_s`` when declared; otherwise by the account's evidence only:
    it fails when ECS stopped tasks for failed ELB health checks while they were starting (and other targets pass,
    so the app does answer once started); a container ``startPeriod`` beyond the grace period is a warning."""
    path, snap, svc = ctx.path, ctx.snapshot, ctx.path.service
    if not svc:
        return skip("No ECS service was found.")
    if not svc.load_balancers:
        return skip(f"{svc.key} is not behind a load balancer: no health-check grace period applies.")
    declared = params.get("startup_budget_s")
    budget = declared if declared is not None else ctx.settings.startup_budget_s
    grace = int(svc.grace_period or 0)
    judged = path.judged_task_definitions(snap)
    ev = E.startup_evidence(path, snap, service_tasks(snap, svc), judged)
    evidence = {"health_check_grace_period_s": svc.grace_period, "startup_budget_s": budget,
                "container_health_check_start_period_s": {k: v.get("startPeriod")
                                                          for k, v in ev.health_checks.items()},
                **ev.as_dict()}
    actual = f"healthCheckGracePeriodSeconds = {grace}" + ("" if svc.grace_period is not None else " (not set)")
    base = dict(resources=[svc.arn], actual=actual, evidence=evidence)
    if budget is not None:
        budget = int(budget)
        base["expected"] = f"healthCheckGracePeriodSeconds >= {budget} (startup_budget_s)"
        if grace < budget:
            return Outcome("fail", f"Service {svc.key} gives new tasks {grace} s before failed load-balancer health "
                                   f"checks count, but the app may need {budget} s to start (startup_budget_s): ECS "
                                   "can kill tasks that are still starting.", **base)
        return Outcome("pass", f"Service {svc.key} gives new tasks {grace} s to start (startup_budget_s {budget} s).",
                       **base)
    base["expected"] = ("no task stopped for failed ELB health checks while starting (startup_budget_s not "
                        "declared: judged from the account's evidence)")
    declare = "declare startup_budget_s (shine-ops.yaml) to judge the grace period against the app's start-up time"
    if ev.killed_starting:
        first = E.describe_kill(ev.killed_starting[0])
        if ev.healthy_targets:
            return Outcome("fail", f"ECS stopped {len(ev.killed_starting)} task(s) of {svc.key} for failed ELB health "
                                   f"checks while they were still starting ({first}), with a grace period of "
                                   f"{grace} s; {ev.healthy_targets} other target(s) pass, so the app answers once "
                                   "started.", **base)
        return Outcome("warn", f"ECS stopped {len(ev.killed_starting)} task(s) of {svc.key} for failed ELB health "
                               f"checks soon after they started ({first}), but no target passes its health check "
                               "either: the health check itself fails (see tg.targets-healthy), which a longer grace "
                               f"period would not cure; {declare}.", **base)
    start = ev.start_period_s
    if start is not None and start > ev.earliest_stop_s:
        return Outcome("warn", f"ECS may stop a new task of {svc.key} {ev.earliest_stop_s} s after it starts (grace "
                               f"period {grace} s, then {ev.unhealthy_threshold} failed ELB health checks "
                               f"{ev.interval_s} s apart), while its container's own health check allows {start} s "
                               f"to start (startPeriod); no task was seen stopped while starting; {declare}.", **base)
    if ev.elb_stops_other or ev.elb_events:
        what = (ev.elb_stops_other[0].get("stopped_reason") if ev.elb_stops_other
                else ev.elb_events[0]["message"])
        return Outcome("warn", f"Tasks of {svc.key} failed ELB health checks (\"{what}\"), but nothing shows they were "
                               f"still starting (grace period {grace} s); {declare}.", **base)
    if ev.running:
        return Outcome("pass", f"Service {svc.key} gives new tasks {grace} s to start and none of its {ev.running} "
                               "running task(s), nor any recently stopped one, was stopped for failed ELB health "
                               f"checks; startup_budget_s is not declared: {declare}.", **base)
    return skip(f"No task of {svc.key} was seen running or stopping: nothing shows whether a {grace} s grace period "
                f"covers its start-up; {declare}.", **base)


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
