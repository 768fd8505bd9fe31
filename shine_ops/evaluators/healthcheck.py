"""Target-group hop: the health check asks the app where it answers.

The verdict rests on evidence (docs/aws-behaviour.md sections 1, 2 and 4): a ``healthy`` target proves the
health-check path answers with a matched code; ``Target.ResponseCodeMismatch`` (with the codes AWS puts in
the description) proves it does not; a numeric ``HealthCheckPort`` is judged against the container port, the
task security groups and the targets' health. A declared ``health_path`` is the user's expectation; without
one, no built-in path stands in for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip
from shine_ops.evaluators.tg_ports import _service_tgs, serving_task_definition
from shine_ops.topology.model import ContainerDef, ServiceLoadBalancer, TargetGroup

_FAILED_CODES = re.compile(r"codes?:\s*\[([0-9,\s]+)\]")
_URL_PATH = re.compile(r"https?://[^/\s'\"|;)]+(/[^\s'\"|;)]*)")
_UNREACHED = ("Target.Timeout", "Target.FailedHealthChecks")


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


def failed_codes(description: str | None) -> list[int]:
    """The HTTP codes AWS lists in a ResponseCodeMismatch description ("Health checks failed with these codes:
    [404]")."""
    m = _FAILED_CODES.search(description or "")
    return [int(c) for c in m.group(1).replace(" ", "").split(",") if c] if m else []


def container_health_path(cdef: ContainerDef | None) -> str | None:
    """The path the container's own ``healthCheck`` command requests (``curl -f http://localhost:8000/health``),
    the app team's own statement of where the app answers."""
    command = " ".join(str(x) for x in ((cdef.health_check or {}).get("command") or [])) if cdef else ""
    m = _URL_PATH.search(command)
    return m.group(1).split("?")[0] or "/" if m else None


def _admits_port(ctx: Context, port: int) -> bool | None:
    """Does a task security group admit the service's load balancers on ``port``? None: cannot tell."""
    from shine_ops.evaluators.network import admits

    snap, svc = ctx.snapshot, ctx.path.service
    if svc is None or not svc.security_groups:
        return None
    lbs = [snap.load_balancers[a] for a in ctx.path.service_lb_arns(snap) if a in snap.load_balancers]
    groups = [snap.security_groups[g] for g in svc.security_groups if g in snap.security_groups]
    if not lbs or not groups:
        return None
    alb_sgs = {g for lb in lbs for g in lb.security_groups}
    alb_cidrs = [c for lb in lbs for s in lb.subnets if s in snap.subnets and (c := snap.subnets[s].cidr)]
    return any(admits(r, port, alb_sgs, alb_cidrs) for g in groups for r in g.ingress)


@dataclass
class HealthJudgement:
    """One target group's health check, judged on evidence. ``new`` holds the ModifyTargetGroup values a fix
    may set (only where the evidence shows harm and a target value is known)."""

    tg: TargetGroup
    mapping: ServiceLoadBalancer
    verdict: str = "pass"
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    new: dict = field(default_factory=dict)
    evidence: dict = field(default_factory=dict)
    unfixable: list[str] = field(default_factory=list)  # failures no target value is known for (setting named)

    def worse(self, verdict: str) -> None:
        order = ["pass", "skip", "warn", "fail"]
        if order.index(verdict) > order.index(self.verdict):
            self.verdict = verdict


def judge_health_check(ctx: Context, m: ServiceLoadBalancer, tg: TargetGroup) -> HealthJudgement:
    snap = ctx.snapshot
    hc, declared = tg.health_check, ctx.settings.health_path
    td = serving_task_definition(ctx)
    cdef = td.container(m.container_name) if td else None
    own_path = container_health_path(cdef)
    # right after a fix, target health still reflects the old configuration: judge the configuration alone
    targets = [] if ctx.settings.settling else (tg.targets or [])
    states = {t.state for t in targets}
    mismatch = [t for t in targets if t.reason == "Target.ResponseCodeMismatch"]
    unreached = [t for t in targets if t.reason in _UNREACHED]
    all_healthy = bool(targets) and states == {"healthy"}
    codes = sorted({c for t in mismatch for c in failed_codes(t.description)})
    path = hc.path or "/"
    j = HealthJudgement(tg=tg, mapping=m)
    j.evidence = {"target_group": tg.name, "protocol": hc.protocol, "port": hc.port, "path": hc.path,
                  "matcher": hc.matcher, "container_port": m.container_port, "declared_health_path": declared,
                  "container_health_check_path": own_path,
                  "target_states": [f"{t.id}:{t.port} {t.state}" + (f" ({t.reason})" if t.reason else "")
                                    for t in targets],
                  "failed_codes": codes}
    if (hc.protocol or "").upper() not in ("HTTP", "HTTPS"):
        j.worse("fail")
        j.problems.append(f"uses {hc.protocol}, not HTTP(S), so it never asks the app for a path")
        j.new["HealthCheckProtocol"] = "HTTPS" if (tg.protocol or "").upper() == "HTTPS" else "HTTP"
        return j
    # -- a numeric port: every target is checked there, whatever port it was registered with
    if hc.port not in ("traffic-port", "") and m.container_port is not None and hc.port != str(m.container_port):
        admitted = _admits_port(ctx, int(hc.port)) if hc.port.isdigit() else None
        j.evidence["health_check_port_admitted"] = admitted
        if (admitted is False and not all_healthy) or unreached:
            j.worse("fail")
            why = (f"no task security group admits the load balancer on tcp/{hc.port}" if admitted is False
                   else f"{len(unreached)} target(s) {unreached[0].reason}")
            j.problems.append(f"probes port {hc.port}, but container {m.container_name} listens on "
                              f"{m.container_port} ({why})")
            j.new["HealthCheckPort"] = "traffic-port"
        else:
            j.worse("warn")
            j.notes.append(f"probes port {hc.port}, not the container port {m.container_port}"
                           + ("; the targets are healthy, so something answers there" if all_healthy else ""))
    # -- the path and matcher: judged by the codes the app really answered
    if mismatch:
        if codes and all(200 <= c < 400 for c in codes):
            j.worse("fail")
            j.problems.append(f"accepts only HTTP {hc.matcher or '200'}, but the app answers {path} with "
                              f"{', '.join(map(str, codes))}")
            j.new["Matcher"] = {"HttpCode": ",".join([hc.matcher or "200"] + [str(c) for c in codes
                                                                              if not matcher_admits(hc.matcher, c)])}
        else:
            j.worse("fail")
            got = f" {', '.join(map(str, codes))}" if codes else " a code the matcher rejects"
            want = declared or own_path
            j.problems.append(f"asks for {path}, which the app answers with{got} (Target.ResponseCodeMismatch)")
            if want and want != path:
                j.new["HealthCheckPath"] = want
                j.evidence["fix_path_from"] = "declared health_path" if declared else \
                    "the container's own healthCheck command"
            elif not want:
                j.unfixable.append("declare health_path (no container healthCheck command names a path)")
    elif declared and path != declared:
        if all_healthy:
            j.worse("warn")
            j.notes.append(f"asks for {path} (it answers: the targets are healthy), but health_path declares "
                           f"{declared}")
        else:
            j.worse("fail")
            j.problems.append(f"asks for {path}, but health_path declares {declared}")
            j.new["HealthCheckPath"] = declared
            j.evidence["fix_path_from"] = "declared health_path"
    if j.verdict == "pass" and not declared and "healthy" not in states:
        j.verdict = "skip"
        seen = "no target answered a health check yet" if targets else "no target health to judge it by"
        j.notes.append(f"asks for {path}; {seen} (declare health_path to judge the path without that evidence)")
    return j


@evaluator("tg.health-check-matches-app", needs={"elbv2", "ecs", "task_definitions", "target_health"},
           hop="target_group")
def health_check_matches_app(ctx: Context, params: dict) -> Outcome:
    """The target group health-checks the app where it answers: HTTP(S), a port the load balancer reaches, a
    path the app answers with a code the matcher accepts. Judged from target health reasons and the codes AWS
    reports, the container's own healthCheck command, and a declared ``health_path``."""
    svc = ctx.path.service
    if not svc:
        return skip("No ECS service was found.")
    if not svc.load_balancers:
        return skip(f"{svc.key} has no load balancer mapping.")
    pairs = _service_tgs(ctx)
    if not pairs:
        return skip("The service's target groups were not found.")
    judged = [judge_health_check(ctx, m, tg) for m, tg in pairs]
    resources = [j.tg.arn for j in judged]
    evidence = {"health_checks": [j.evidence for j in judged]}
    if any(j.tg.targets and any(t.simulated for t in j.tg.targets) for j in judged):
        evidence["simulated"] = True
    declared = ctx.settings.health_path
    expected = ("HTTP(S) on a port the load balancer reaches, path "
                + (f"{declared} (declared health_path)" if declared else "the app answers (healthy targets)")
                + ", matcher admitting the app's answer")
    lines = [f"{j.tg.name} " + " and ".join(j.problems + j.notes) for j in judged if j.problems or j.notes]
    ok = [f"{j.tg.name}: {j.tg.health_check.protocol} {j.tg.health_check.port} {j.tg.health_check.path or '/'} "
          f"matcher {j.tg.health_check.matcher or '200'}" for j in judged if j.verdict == "pass"]
    actual = "; ".join(lines + ok)
    failing = [j for j in judged if j.verdict == "fail"]
    if failing:
        j = failing[0]
        unfix = f" No fix can be planned: {j.unfixable[0]}." if j.unfixable and not j.new else ""
        return Outcome("fail", f"The health check of target group {j.tg.name} " + " and ".join(j.problems)
                       + ": healthy tasks are marked unhealthy and taken out of service." + unfix,
                       resources=resources, expected=expected, actual=actual, evidence=evidence)
    if any(j.verdict == "warn" for j in judged):
        j = next(j for j in judged if j.verdict == "warn")
        return Outcome("warn", f"The health check of target group {j.tg.name} " + " and ".join(j.notes) + ".",
                       resources=resources, expected=expected, actual=actual, evidence=evidence)
    if all(j.verdict == "skip" for j in judged):
        return skip(f"The health check of {judged[0].tg.name} " + judged[0].notes[0] + ".",
                    resources=resources, expected=expected, actual=actual, evidence=evidence)
    basis = (f"declared health_path {declared}" if declared else "the targets are healthy")
    return Outcome("pass", "Health checks ask the app where it answers (" + basis + "): " + "; ".join(ok) + ".",
                   resources=resources, expected=expected, actual=actual, evidence=evidence)
