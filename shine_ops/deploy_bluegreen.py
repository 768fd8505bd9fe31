"""Blue-green deploys: a green service on the new revision behind a green target group, listener traffic
shifted to it with weighted forwarding in gated steps, blue kept (weight 0) until ``--finalize``.

Why this shape: a rolling deploy replaces the only copy of the service, so a bad revision is live before its
gates run and the way back is another rollout. Here blue keeps running untouched: a failed gate is undone by
putting the listener actions back exactly as they were (one call per listener or rule, instant), and green
is removed. Every mutating call is journaled as a ``deploy`` change with its inverse, so ``history`` shows it
and ``rollback APPLY_ID`` reverts a landed (not finalized) deploy: listeners back, green deleted.

Names: the green service is ``<service>-green``; when the current service already ends with ``-green`` it is
``<stem>-blue`` (and ``-blue`` alternates back to ``-green``), so consecutive deploys never clash. The green
target group is ``<blue target group name, trimmed>-g<revision>`` (at most 32 characters).

A target in a target group no listener uses is ``unused`` on AWS (no health checks run), so green is first
attached to every forward at weight 0; then its targets are health-checked while blue still takes all the
traffic.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from shine_ops.deploy import DeployResult
from shine_ops.engine.finding import Finding, Outcome
from shine_ops.fixes import ApiCall, Change, Probe

DEFAULT_STEPS = (10, 50, 100)
TG_COPY = ("Protocol", "Port", "VpcId", "TargetType", "HealthCheckProtocol", "HealthCheckPort", "HealthCheckEnabled",
           "HealthCheckPath", "HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds", "HealthyThresholdCount",
           "UnhealthyThresholdCount", "Matcher", "ProtocolVersion", "IpAddressType")


# ---- names -------------------------------------------------------------------------------------------------

def green_service_name(name: str) -> str:
    """The green service's name: ``-green`` added, or alternated with ``-blue`` so it never equals ``name``."""
    if name.endswith("-green"):
        return name[: -len("-green")] + "-blue"
    if name.endswith("-blue"):
        return name[: -len("-blue")] + "-green"
    return name + "-green"


def green_tg_name(blue_tg_name: str, revision: int | str) -> str:
    """``<blue name>-g<rev>`` within the 32-character limit; a previous ``-g<N>`` suffix is replaced, not
    stacked, and the name never ends with a hyphen (both AWS rules)."""
    suffix = f"-g{revision}"
    stem = re.sub(r"-g\d+$", "", blue_tg_name)[: 32 - len(suffix)].rstrip("-")
    return stem + suffix


# ---- listeners -----------------------------------------------------------------------------------------------

@dataclass
class Forward:
    """A listener default action list or a rule's action list that forwards to the blue target group."""

    kind: str  # "listener" | "rule"
    arn: str
    actions: list[dict]  # as described before the deploy: restored exactly on failure
    label: str

    def call(self, actions: list[dict]) -> ApiCall:
        if self.kind == "listener":
            return ApiCall("elbv2", "ModifyListener", {"ListenerArn": self.arn, "DefaultActions": actions})
        return ApiCall("elbv2", "ModifyRule", {"RuleArn": self.arn, "Actions": actions})

    def probe(self, before: list[dict]) -> Probe:
        if self.kind == "listener":
            return Probe(ApiCall("elbv2", "DescribeListeners", {"ListenerArns": [self.arn]}),
                         "Listeners[0].DefaultActions", before)
        return Probe(ApiCall("elbv2", "DescribeRules", {"RuleArns": [self.arn]}), "Rules[0].Actions", before)


def forward_weights(action: dict) -> dict[str, int]:
    """TG ARN -> weight of one forward action (either shape AWS returns)."""
    from shine_ops.topology.model import Action

    return Action.from_raw(action).target_groups if action.get("Type") == "forward" else {}


def find_forwards(aws: Any, tg_arn: str) -> list[Forward]:
    """Every listener default action and rule of the load balancers using ``tg_arn`` that forwards to it."""
    tg = aws.call("elbv2", "DescribeTargetGroups", TargetGroupArns=[tg_arn])["TargetGroups"][0]
    lbs = list(dict.fromkeys(tg.get("LoadBalancerArns") or []))  # moto lists a load balancer once per use
    if not lbs:  # some endpoints (moto) do not record a group attached by ModifyListener/ModifyRule: look at all
        lbs = [lb["LoadBalancerArn"] for lb in aws.paginate("elbv2", "DescribeLoadBalancers", "LoadBalancers")]
    out: list[Forward] = []
    for lb in lbs:
        for listener in aws.paginate("elbv2", "DescribeListeners", "Listeners", LoadBalancerArn=lb):
            label = f"{listener.get('Protocol')}:{listener.get('Port')}"
            if any(tg_arn in forward_weights(a) for a in listener.get("DefaultActions", [])):
                out.append(Forward("listener", listener["ListenerArn"], listener["DefaultActions"], f"{label} default"))
            for rule in aws.paginate("elbv2", "DescribeRules", "Rules", ListenerArn=listener["ListenerArn"]):
                if rule.get("IsDefault"):
                    continue
                if any(tg_arn in forward_weights(a) for a in rule.get("Actions", [])):
                    out.append(Forward("rule", rule["RuleArn"], rule["Actions"],
                                       f"{label} rule {rule.get('Priority')}"))
    return out


def weighted(actions: list[dict], blue: str, green: str, green_pct: int) -> list[dict]:
    """``actions`` with the forward to blue split blue (100 - pct) / green (pct); other actions unchanged."""
    out = []
    for a in actions:
        if blue not in forward_weights(a):
            out.append(a)
            continue
        fc: dict[str, Any] = {"TargetGroups": [{"TargetGroupArn": blue, "Weight": 100 - green_pct},
                                               {"TargetGroupArn": green, "Weight": green_pct}]}
        sticky = (a.get("ForwardConfig") or {}).get("TargetGroupStickinessConfig")
        if sticky:
            fc["TargetGroupStickinessConfig"] = sticky
        new: dict[str, Any] = {"Type": "forward", "ForwardConfig": fc}
        if "Order" in a:
            new["Order"] = a["Order"]
        out.append(new)
    return out


def only(actions: list[dict], old: str, new_tg: str) -> list[dict]:
    """``actions`` with the weighted forward that involves ``old`` replaced by a plain forward to ``new_tg``."""
    out = []
    for a in actions:
        if old not in forward_weights(a):
            out.append(a)
            continue
        new: dict[str, Any] = {"Type": "forward", "TargetGroupArn": new_tg}
        if "Order" in a:
            new["Order"] = a["Order"]
        out.append(new)
    return out


def refuse_split_forwards(forwards: list[Forward], blue: str, service_key: str) -> None:
    """A forward that already splits traffic (another blue-green deploy in progress, or a hand-made split)
    cannot be shifted safely: say what to do instead."""
    from shine_ops.errors import UsageError

    if not forwards:
        raise UsageError(f"no listener or rule forwards to {service_key}'s target group",
                         hint="blue-green shifts listener traffic; use --strategy rolling")
    for f in forwards:
        for a in f.actions:
            w = forward_weights(a)
            if blue in w and len(w) > 1:
                split = ", ".join(f"{k.split('/')[-2]}={v}" for k, v in w.items())
                raise UsageError(f"{f.label} already splits traffic ({split})",
                                 hint=f"finish that deploy first: shine-ops deploy --cluster ... --service "
                                      f"{service_key.split('/')[-1]} --finalize, or shine-ops rollback APPLY_ID")


# ---- the journal ---------------------------------------------------------------------------------------------

@dataclass
class Journaled:
    """Journals each mutating call as a ``deploy`` change (intent before, result and inverse after)."""

    aws: Any
    journal: Any
    apply_id: str
    seq: int = 0
    ids: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    def do(self, key: str, resource: str, description: str, call: ApiCall, *, before: dict, after: dict,
           inverse: list[ApiCall] | Callable[[dict], list[ApiCall]], probe: Probe | None = None,
           result: Callable[[dict], Any] | None = None, undoes: str | None = None) -> dict:
        self.seq += 1
        cid = f"{self.apply_id}-{self.seq:02d}"
        known = inverse if isinstance(inverse, list) else []
        change = Change(key=f"deploy#{key}", fix="deploy", resource=resource, description=description, call=call,
                        before=before, after=after, inverse=known, probe=probe)
        self.journal.intent(cid, self.apply_id, self.seq, change, asdict(call), [asdict(i) for i in known],
                            undoes=undoes)
        try:
            resp = self.aws.call(call.service, call.operation, **call.params)
        except Exception as exc:
            self.journal.complete(cid, "failed", error=f"{type(exc).__name__}: {exc}"[:500])
            raise
        inv = inverse(resp) if callable(inverse) else inverse
        self.journal.complete(cid, "applied", result=result(resp) if result else None,
                              inverse=[asdict(i) for i in inv])
        self.ids.append(cid)
        self.calls.append(f"{call.service}.{call.operation}")
        return resp


# ---- creating green ------------------------------------------------------------------------------------------

def tg_params(blue_tg: dict, name: str) -> dict:
    """CreateTargetGroup input copying the blue group's settings (protocol, port, VPC, type, health check)."""
    params = {k: blue_tg[k] for k in TG_COPY if blue_tg.get(k) not in (None, "", [])}
    params["Name"] = name
    return params


def service_params(blue: dict, cluster: str, name: str, td_arn: str, tg_arn: str, blue_tg: str) -> dict:
    """CreateService input copying the blue service (cluster, network, launch type, desired count, grace
    period, load-balancer mapping with the same container name/port), on the new revision and green's TG."""
    lbs = [{**{k: v for k, v in m.items() if k in ("containerName", "containerPort")},
            "targetGroupArn": tg_arn if m.get("targetGroupArn") == blue_tg else m.get("targetGroupArn")}
           for m in blue.get("loadBalancers", [])]
    params: dict[str, Any] = {"cluster": cluster, "serviceName": name, "taskDefinition": td_arn,
                              "desiredCount": int(blue.get("desiredCount") or 1), "loadBalancers": lbs}
    for key in ("launchType", "networkConfiguration", "healthCheckGracePeriodSeconds", "platformVersion",
                "deploymentConfiguration", "capacityProviderStrategy", "enableECSManagedTags", "propagateTags"):
        if blue.get(key) not in (None, "", [], {}):
            params[key] = blue[key]
    if params.get("capacityProviderStrategy"):
        params.pop("launchType", None)  # AWS accepts one or the other
    if params.get("propagateTags") == "NONE":
        params.pop("propagateTags")
    return params


# ---- watching green ------------------------------------------------------------------------------------------

def green_status(aws: Any, cluster: str, name: str, td_arn: str, tg_arn: str) -> dict:
    """One look at green: tasks on the new revision, target health, the newest events."""
    s = (aws.call("ecs", "DescribeServices", cluster=cluster, services=[name]).get("services") or [{}])[0]
    arns = aws.call("ecs", "ListTasks", cluster=cluster, serviceName=name).get("taskArns", [])
    tasks = aws.call("ecs", "DescribeTasks", cluster=cluster, tasks=arns).get("tasks", []) if arns else []
    tasks = [t for t in tasks if t.get("group") == f"service:{name}"]
    running = [t for t in tasks if t.get("lastStatus") == "RUNNING" and t.get("taskDefinitionArn") == td_arn]
    health = aws.call("elbv2", "DescribeTargetHealth", TargetGroupArn=tg_arn).get("TargetHealthDescriptions", [])
    return {"desired": int(s.get("desiredCount") or 0), "running": len(running),
            "targets": [(h["Target"]["Id"], h["Target"].get("Port"), h["TargetHealth"].get("State"),
                         h["TargetHealth"].get("Description") or h["TargetHealth"].get("Reason") or "")
                        for h in health],
            "events": [e.get("message") for e in s.get("events", [])[:3]],
            "stopped": [_stopped_reason(t) for t in tasks
                        if t.get("lastStatus") == "STOPPED" and t.get("taskDefinitionArn") == td_arn][:3]}


def stopped_evidence(aws: Any, cluster: str, name: str, td_arn: str) -> list[str]:
    """Why green's tasks stopped (ListTasks returns running tasks unless asked for STOPPED ones, on AWS)."""
    arns = aws.call("ecs", "ListTasks", cluster=cluster, serviceName=name, desiredStatus="STOPPED").get("taskArns", [])
    tasks = aws.call("ecs", "DescribeTasks", cluster=cluster, tasks=arns[:20]).get("tasks", []) if arns else []
    return [_stopped_reason(t) for t in tasks
            if t.get("group") == f"service:{name}" and t.get("taskDefinitionArn") == td_arn][:3]


def _stopped_reason(task: dict) -> str:
    """A stopped task's reason with its containers' exit codes and reasons (the evidence of a failed start)."""
    parts = [f"{task['taskArn'].split('/')[-1]}: {task.get('stoppedReason', '')}"]
    for c in task.get("containers", []):
        if c.get("exitCode") not in (None, 0) or c.get("reason"):
            parts.append(f"{c.get('name')} exit {c.get('exitCode')} {c.get('reason') or ''}".rstrip())
    return "; ".join(parts)


def is_steady(st: dict) -> bool:
    """Tasks on the new revision running as desired and every registered target healthy."""
    states = [t[2] for t in st["targets"]]
    return (st["desired"] > 0 and st["running"] >= st["desired"] and len(states) >= st["desired"]
            and all(s == "healthy" for s in states))


def describe_status(st: dict) -> str:
    states = ", ".join(f"{ip} {state}" + (f" ({why})" if state != "healthy" and why else "")
                       for ip, _, state, why in st["targets"]) or "no target registered"
    return f"{st['running']}/{st['desired']} tasks running on the new revision; targets: {states}"


def wait_green(aws: Any, cluster: str, name: str, td_arn: str, tg_arn: str, deadline_s: float,
               tick: Callable[[dict], None]) -> tuple[bool, dict]:
    """Until green is steady or the deadline; ``tick`` gets every look (the live view)."""
    end = time.monotonic() + deadline_s
    st: dict = {}
    while True:
        st = green_status(aws, cluster, name, td_arn, tg_arn)
        tick(st)
        if is_steady(st) or time.monotonic() >= end:
            return is_steady(st), st
        time.sleep(1.0)


def direct_smoke(domain: str | None, settings: Any, sandbox_state: dict | None, tg_arn: str, targets: list,
                 timeout_s: float) -> list[Finding]:
    """The smoke tests straight against green, not through the listener: in the sandbox through the
    load-balancer emulator pinned to the green target group (its ``X-Shine-Ops-Target-Group`` header, the
    sandbox's stand-in for reaching a task address inside the VPC); elsewhere against each green target's
    address when it is reachable from here (skipped, saying so, when it is not)."""
    import requests

    from shine_ops.probes import smoke as S

    bases: list[tuple[str, dict]] = []
    if sandbox_state is not None:
        if not sandbox_state.get("alb_endpoint"):
            return [Finding.from_outcome("smoke.health", "green (direct)", "high",
                                         Outcome("skip", "This sandbox has no load-balancer emulator."))]
        from shine_ops.sandbox.alb import PIN_HEADER

        bases.append((sandbox_state["alb_endpoint"], {"Host": domain or "", PIN_HEADER: tg_arn}))
    else:
        bases += [(f"http://{ip}:{port}", {}) for ip, port, _, _ in targets if port]
    out: list[Finding] = []
    for base, headers in bases:
        session = requests.Session()
        session.headers.update(headers)
        budget = S._Budget(timeout_s)
        try:
            health, reachable = S.check_health(session, base, budget)
            if not reachable and sandbox_state is None:
                out.append(Finding.from_outcome("smoke.health", f"green {base} (direct)", "high", Outcome(
                    "skip", f"{base} is not reachable from here (a task address inside the VPC): only the "
                            f"smoke through the domain gates this step.")))
                continue
            out.append(Finding.from_outcome("smoke.health", f"green {base} (direct)", "high", health))
            if reachable and settings.serves_reference_api:
                sample = S.load_sample()
                out.append(Finding.from_outcome("smoke.face-detect", f"green {base} (direct)", "high",
                                                S.check_face_detect(session, base, budget, sample)))
        finally:
            session.close()
    return out


def failing(findings: list[Finding]) -> list[Finding]:
    """The smoke findings that fail a gate: fail, error, and warn (a degraded /ready is a warn)."""
    return [f for f in findings if f.check.startswith("smoke.") and f.status in ("fail", "warn", "error")]


# ---- the deploy ----------------------------------------------------------------------------------------------

@dataclass
class Gates:
    """What gates each step: the smoke tests through the domain, and straight against green."""

    domain: Callable[[], list[Finding]]
    direct: Callable[[str, list], list[Finding]]


def blue_green(aws: Any, journal: Any, *, who: str | None, report: Any, new_td: dict, gates: Gates,
               say: Callable[[str], None], steps: tuple[int, ...] = DEFAULT_STEPS, deadline_s: float = 300.0,
               watch: Callable[[dict], None] | None = None) -> DeployResult:
    """Create green beside blue, shift traffic to it in gated steps; on any failed gate shift everything back
    and remove green. Landed means all traffic on green, blue kept at weight 0 until ``--finalize``."""
    import datetime as dt
    import uuid

    svc = report.request_path.service
    blue = aws.call("ecs", "DescribeServices", cluster=svc.cluster_name, services=[svc.name])["services"][0]
    blue_tg_arn = next((m["targetGroupArn"] for m in blue.get("loadBalancers", []) if m.get("targetGroupArn")), None)
    from shine_ops.errors import UsageError

    if blue_tg_arn is None:
        raise UsageError(f"{svc.key} is behind no target group", hint="blue-green needs one; use --strategy rolling")
    forwards = find_forwards(aws, blue_tg_arn)
    refuse_split_forwards(forwards, blue_tg_arn, svc.key)
    green_name = green_service_name(svc.name)
    taken = aws.call("ecs", "DescribeServices", cluster=svc.cluster_name, services=[green_name]).get("services", [])
    if any(s.get("status") == "ACTIVE" for s in taken):
        raise UsageError(f"service {svc.cluster_name}/{green_name} already exists",
                         hint="finalize or roll back the deploy that created it")
    apply_id = f"d{dt.datetime.now(dt.timezone.utc).strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
    journal.start_apply(apply_id, plan_id="", plan_hash="", kind="deploy", who=who, account=report.snapshot.account,
                        region=report.snapshot.region, endpoint=aws.options.endpoint_url,
                        target={"service": svc.key, "from": svc.task_definition, "strategy": "blue-green",
                                "green_service": green_name, "steps": list(steps)})
    j = Journaled(aws, journal, apply_id)
    run = _Run(aws, j, svc, blue, blue_tg_arn, forwards, green_name, new_td, gates, say, steps, deadline_s, watch)
    try:
        result = run.go()
    except Exception as exc:
        left = run.abort()  # an API call failed half-way: put the listeners back and remove what was created
        journal.finish_apply(apply_id, "failed", note=(f"{type(exc).__name__}: {exc}" + (
            f"; left behind: {'; '.join(left)}" if left else "; listeners restored, green removed"))[:500])
        raise
    result.apply_id = apply_id
    return result


@dataclass
class _Run:
    aws: Any
    j: Journaled
    svc: Any
    blue: dict
    blue_tg: str
    forwards: list[Forward]
    green_name: str
    new_td: dict
    gates: Gates
    say: Callable[[str], None]
    steps: tuple[int, ...]
    deadline_s: float
    watch: Callable[[dict], None] | None
    green_tg: str = ""
    green_params: dict = field(default_factory=dict)  # CreateTargetGroup input of green (the inverse of deleting it)
    td_arn: str = ""
    service_id: str = ""  # the journal row of CreateService (marked rolled back when green is removed)
    weight_rows: list[str] = field(default_factory=list)
    created_rows: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    step: str = "create green"
    pct: int = 0

    def view(self, st: dict | None = None) -> None:
        if self.watch is None:
            return
        status = {"step": self.step, "weights": {"blue": 100 - self.pct, "green": self.pct}}
        if st is not None:
            status.update(green_running=st["running"], green_desired=st["desired"],
                          green_targets=[t[2] for t in st["targets"]], events=st["events"])
        try:
            bh = self.aws.call("elbv2", "DescribeTargetHealth", TargetGroupArn=self.blue_tg).get(
                "TargetHealthDescriptions", [])
            status["blue_targets"] = [h["TargetHealth"].get("State") for h in bh]
        except Exception:  # noqa: BLE001 - the view must never break the deploy
            status["blue_targets"] = ["?"]
        self.watch(status)

    def go(self) -> DeployResult:
        self._create_green()
        ok, why = self._attach()
        if ok:
            ok, why = self._steady_and_direct("green-steady")
        for pct in self.steps if ok else ():
            self._shift(pct)
            ok, why = self._gate(f"{pct}%")
            if not ok:
                break
        if ok:
            self.j.journal.finish_apply(self.j.apply_id, "applied", note=(
                f"all traffic on {self.green_name}; gates passed: {', '.join(self.passed)}")[:500])
            return DeployResult("landed", revision=self.td_arn, notes=self._landed_notes())
        return self._shift_back(why)

    def _create_green(self) -> None:
        tg = self.aws.call("elbv2", "DescribeTargetGroups", TargetGroupArns=[self.blue_tg])["TargetGroups"][0]
        family = self.new_td["family"]
        reg = self.j.do("register", family, f"register a new revision of {family}",
                        ApiCall("ecs", "RegisterTaskDefinition", self.new_td), before={}, after={},
                        inverse=lambda r: [ApiCall("ecs", "DeregisterTaskDefinition",
                                                   {"taskDefinition": r["taskDefinition"]["taskDefinitionArn"]})],
                        result=lambda r: {"taskDefinitionArn": r["taskDefinition"]["taskDefinitionArn"]})
        self.td_arn = reg["taskDefinition"]["taskDefinitionArn"]
        rev = reg["taskDefinition"]["revision"]
        self.say(f"registered {self.td_arn.split('/')[-1]}")
        params = tg_params(tg, green_tg_name(tg["TargetGroupName"], rev))
        made = self.j.do("green-tg", params["Name"], f"create the green target group {params['Name']} "
                         f"(copy of {tg['TargetGroupName']})", ApiCall("elbv2", "CreateTargetGroup", params),
                         before={}, after={"TargetGroupName": params["Name"]},
                         inverse=lambda r: [ApiCall("elbv2", "DeleteTargetGroup", {
                             "TargetGroupArn": r["TargetGroups"][0]["TargetGroupArn"]})],
                         result=lambda r: {"TargetGroupArn": r["TargetGroups"][0]["TargetGroupArn"]})
        self.green_tg = made["TargetGroups"][0]["TargetGroupArn"]
        self.green_params = params
        self.created_rows.append(self.j.ids[-1])
        self.say(f"created target group {params['Name']}")
        sp = service_params(self.blue, self.svc.cluster_name, self.green_name, self.td_arn, self.green_tg, self.blue_tg)
        cluster = self.svc.cluster_name
        created = self.j.do("green-service", f"{cluster}/{self.green_name}",
                            f"create {cluster}/{self.green_name} on {self.td_arn.split('/')[-1]} behind {params['Name']}",
                            ApiCall("ecs", "CreateService", sp), before={}, after={"desiredCount": sp["desiredCount"]},
                            inverse=_remove_service(cluster, self.green_name),
                            result=lambda r: {"serviceArn": r["service"]["serviceArn"]})
        self.service_id = self.j.ids[-1]
        self.created_rows.append(self.service_id)
        grace = sp.get("healthCheckGracePeriodSeconds")
        if grace is not None and created["service"].get("healthCheckGracePeriodSeconds") != grace:
            # some endpoints (moto) ignore the grace period on CreateService: set it as AWS would have
            self.j.do("green-grace", f"{cluster}/{self.green_name}", f"{cluster}/{self.green_name}: grace period "
                      f"{grace} s, as blue", ApiCall("ecs", "UpdateService", {
                          "cluster": cluster, "service": self.green_name, "healthCheckGracePeriodSeconds": grace}),
                      before={"healthCheckGracePeriodSeconds": None}, after={"healthCheckGracePeriodSeconds": grace},
                      inverse=[ApiCall("ecs", "UpdateService", {"cluster": cluster, "service": self.green_name,
                                                               "healthCheckGracePeriodSeconds": 0})])
            self.created_rows.append(self.j.ids[-1])
        self.say(f"created service {cluster}/{self.green_name} (desired {sp['desiredCount']})")

    def _set_weights(self, pct: int, key: str) -> None:
        """One journaled ModifyListener/ModifyRule per forward; the inverse puts back what was there before."""
        for f in self.forwards:
            first = not any(r.startswith(f.arn + "|") for r in self.weight_rows)
            before = f.actions if first else weighted(f.actions, self.blue_tg, self.green_tg, self.pct)
            after = weighted(f.actions, self.blue_tg, self.green_tg, pct)
            self.j.do(key, f.arn, f"{f.label}: blue {100 - pct} / green {pct}", f.call(after),
                      before={"weights": {"blue": 100 - self.pct, "green": self.pct}} if not first else
                      {"actions": f.actions}, after={"weights": {"blue": 100 - pct, "green": pct}},
                      inverse=[f.call(before)], probe=f.probe(f.actions) if first else None)
            self.weight_rows.append(f"{f.arn}|{self.j.ids[-1]}")
        self.pct = pct

    def _attach(self) -> tuple[bool, str]:
        """Green joins every forward at weight 0: its targets get health-checked, no user request reaches it."""
        self.step = "attach green (weight 0)"
        self._set_weights(0, "attach")
        self.say(f"attached {self.green_tg.split('/')[-2]} at weight 0 to "
                 + ", ".join(f.label for f in self.forwards))
        return True, ""

    def _steady_and_direct(self, gate: str) -> tuple[bool, str]:
        self.step = f"gate {gate}"
        last: dict = {}

        def tick(st: dict) -> None:
            last.clear()
            last.update(st)
            self.view(st)

        end = time.monotonic() + self.deadline_s
        ok, st = wait_green(self.aws, self.svc.cluster_name, self.green_name, self.td_arn, self.green_tg,
                            self.deadline_s, tick)
        if not ok:
            stopped = list(dict.fromkeys(st["stopped"] + stopped_evidence(
                self.aws, self.svc.cluster_name, self.green_name, self.td_arn)))
            ev = "; ".join(st["events"][:2] + stopped[:2])
            return False, (f"gate {gate}: green not steady after {self.deadline_s:.0f} s: {describe_status(st)}"
                           + (f"; evidence: {ev}" if ev else ""))
        while True:  # /health passes at once; /ready answers 503 while the model loads: that is startup, not failure
            bad = failing(self.gates.direct(self.green_tg, st["targets"]))
            if not (bad and all(f.actual == "503" for f in bad) and time.monotonic() < end):
                break
            time.sleep(1.0)
        if bad:
            return False, _failed(gate, bad)
        self.passed.append(gate)
        self.say(f"gate {gate} passed: {describe_status(st)}")
        return True, ""

    def _shift(self, pct: int) -> None:
        self.step = f"shift {pct}%"
        self._set_weights(pct, f"shift-{pct}")
        self.say(f"shifted: weights blue {100 - pct} / green {pct}")
        self.view()

    def _gate(self, name: str) -> tuple[bool, str]:
        """Green targets healthy, green smoke-tested directly, and the domain smoke-tested (mixed traffic)."""
        st = green_status(self.aws, self.svc.cluster_name, self.green_name, self.td_arn, self.green_tg)
        self.view(st)
        if not is_steady(st):
            ev = "; ".join(st["events"][:2] + st["stopped"][:2])
            return False, f"gate {name}: green not healthy: {describe_status(st)}" + (f"; evidence: {ev}" if ev else "")
        bad = failing(self.gates.direct(self.green_tg, st["targets"]))
        bad += [f for f in failing(self.gates.domain())]
        if bad:
            return False, _failed(name, bad)
        self.passed.append(name)
        self.say(f"gate {name} passed (weights blue {100 - self.pct} / green {self.pct})")
        return True, ""

    def undo_journal(self, reason: str) -> Journaled:
        """The automatic undo is journaled as its own apply of kind ``rollback`` (as ``shine-ops rollback``
        journals one): its changes name what they undo, and it cannot itself be rolled back by mistake."""
        import datetime as dt
        import uuid

        rb_id = f"r{dt.datetime.now(dt.timezone.utc).strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.j.journal.start_apply(rb_id, plan_id="", plan_hash="", kind="rollback", who=None, account=None,
                                   region=self.aws.region, endpoint=self.aws.options.endpoint_url,
                                   target={"undoes": [self.j.apply_id], "reason": reason[:300]})
        return Journaled(self.aws, self.j.journal, rb_id)

    def _shift_back(self, why: str) -> DeployResult:
        """All traffic back to blue at once (the original actions, exactly), then green removed."""
        self.say(f"a gate failed ({why}); shifting all traffic back to blue")
        journal = self.j.journal
        undo = self.undo_journal(why)
        if self.weight_rows:
            for f in self.forwards:
                now = weighted(f.actions, self.blue_tg, self.green_tg, self.pct)
                undo.do("shift-back", f.arn, f"{f.label}: all traffic back to blue (a gate failed)",
                          f.call(f.actions), before={"weights": {"blue": 100 - self.pct, "green": self.pct}},
                          after={"actions": f.actions}, inverse=[f.call(now)],
                          undoes=next(r.split("|", 1)[1] for r in self.weight_rows if r.startswith(f.arn + "|")))
            for row in self.weight_rows:
                journal.set_status(row.split("|", 1)[1], "rolled_back")
            self.pct = 0
        cluster = self.svc.cluster_name
        green_desired = int(self.blue.get("desiredCount") or 1)
        sp = service_params(self.blue, self.svc.cluster_name, self.green_name, self.td_arn, self.green_tg, self.blue_tg)
        undo.do("green-scale-0", f"{cluster}/{self.green_name}", f"scale {cluster}/{self.green_name} to 0",
                  ApiCall("ecs", "UpdateService", {"cluster": cluster, "service": self.green_name, "desiredCount": 0}),
                  before={"desiredCount": green_desired}, after={"desiredCount": 0},
                  inverse=[ApiCall("ecs", "UpdateService", {"cluster": cluster, "service": self.green_name,
                                                           "desiredCount": green_desired})], undoes=self.service_id)
        undo.do("green-delete", f"{cluster}/{self.green_name}", f"delete {cluster}/{self.green_name}",
                  ApiCall("ecs", "DeleteService", {"cluster": cluster, "service": self.green_name, "force": True}),
                  before={"status": "ACTIVE"}, after={"status": "INACTIVE"},
                  inverse=[ApiCall("ecs", "CreateService", sp)], undoes=self.service_id)
        tg = self.aws.call("elbv2", "DescribeTargetGroups", TargetGroupArns=[self.green_tg])["TargetGroups"][0]
        undo.do("green-tg-delete", self.green_tg, f"delete the green target group {tg['TargetGroupName']}",
                  ApiCall("elbv2", "DeleteTargetGroup", {"TargetGroupArn": self.green_tg}), before={}, after={},
                  inverse=[ApiCall("elbv2", "CreateTargetGroup", tg_params(tg, tg["TargetGroupName"]))],
                  undoes=self.created_rows[0])
        for row in self.created_rows:
            journal.set_status(row, "rolled_back")
        restored = all(self._actions_of(f) == f.actions for f in self.forwards)
        journal.finish_apply(undo.apply_id, "restored" if restored else "failed", note=why[:500])
        journal.finish_apply(self.j.apply_id, "rolled_back" if restored else "failed",
                             note=f"{why}; undone by {undo.apply_id}"[:500])
        notes = [why, f"all traffic back on {self.svc.key}: listener actions "
                      + ("restored exactly" if restored else "NOT as before (check them)"),
                 f"removed {cluster}/{self.green_name} and target group {tg['TargetGroupName']}"]
        if self.passed:
            notes.insert(1, f"gates passed before: {', '.join(self.passed)}")
        return DeployResult("rolled_back", revision=self.td_arn, notes=notes,
                            findings=[Finding("deploy.blue-green", "Green passes its gates", "fail", "high", why)])

    def abort(self) -> list[str]:
        """After an unexpected error: best effort, each step journaled, in the order that frees each resource
        before the next (listeners, then the service, then its target group). Returns what could not be undone."""
        left: list[str] = []
        cluster = self.svc.cluster_name
        undo = self.undo_journal("the deploy failed half-way")
        steps: list[tuple[str, Callable[[], Any]]] = []
        if self.weight_rows:
            for f in self.forwards:
                steps.append((f"{f.label} restore", lambda f=f: undo.do(
                    "abort-listener", f.arn, f"{f.label}: original actions (the deploy failed)", f.call(f.actions),
                    before={}, after={"actions": f.actions},
                    inverse=[f.call(weighted(f.actions, self.blue_tg, self.green_tg, self.pct))])))
        if self.service_id:
            sp = service_params(self.blue, cluster, self.green_name, self.td_arn, self.green_tg, self.blue_tg)
            steps.append((f"delete {cluster}/{self.green_name}", lambda: undo.do(
                "abort-service", f"{cluster}/{self.green_name}", f"delete {cluster}/{self.green_name} (the deploy "
                "failed)", ApiCall("ecs", "DeleteService", {"cluster": cluster, "service": self.green_name,
                                                            "force": True}),
                before={"status": "ACTIVE"}, after={"status": "INACTIVE"}, inverse=[ApiCall("ecs", "CreateService", sp)])))
        if self.green_tg:
            steps.append((f"delete target group {self.green_tg.split('/')[-2]}", lambda: undo.do(
                "abort-tg", self.green_tg, "delete the green target group (the deploy failed)",
                ApiCall("elbv2", "DeleteTargetGroup", {"TargetGroupArn": self.green_tg}), before={}, after={},
                inverse=[ApiCall("elbv2", "CreateTargetGroup", self.green_params)])))
        for what, run in steps:
            try:
                run()
            except Exception as exc:  # noqa: BLE001 - report what is left, keep undoing the rest
                left.append(f"{what}: {type(exc).__name__}: {exc}")
        for row in self.created_rows + [r.split("|", 1)[1] for r in self.weight_rows]:
            if not left:
                self.j.journal.set_status(row, "rolled_back")
        self.j.journal.finish_apply(undo.apply_id, "failed" if left else "restored", note="; ".join(left) or None)
        return left

    def _actions_of(self, f: Forward) -> list[dict]:
        if f.kind == "listener":
            return self.aws.call("elbv2", "DescribeListeners", ListenerArns=[f.arn])["Listeners"][0]["DefaultActions"]
        return self.aws.call("elbv2", "DescribeRules", RuleArns=[f.arn])["Rules"][0]["Actions"]

    def _landed_notes(self) -> list[str]:
        cluster, name = self.svc.cluster_name, self.svc.name
        return [f"{cluster}/{self.green_name} runs {self.td_arn.split('/')[-1]} and takes all traffic; gates "
                f"passed: {', '.join(self.passed)}",
                f"{self.svc.key} (blue) is kept at weight 0",
                f"finalize (delete blue): shine-ops deploy --cluster {cluster} --service {name} --finalize",
                f"or undo: shine-ops rollback {self.j.apply_id}"]


def _failed(gate: str, bad: list[Finding]) -> str:
    """The sentence a failed gate leaves in the output and the journal: which smoke test, and what it saw."""
    return f"gate {gate}: " + "; ".join(f"{f.check} ({f.title}): {f.summary}" for f in bad)


def _remove_service(cluster: str, name: str) -> list[ApiCall]:
    """Undo of a CreateService: scale to 0, then delete (ECS refuses to delete a service scaled above 0)."""
    return [ApiCall("ecs", "UpdateService", {"cluster": cluster, "service": name, "desiredCount": 0}),
            ApiCall("ecs", "DeleteService", {"cluster": cluster, "service": name, "force": True})]


# ---- finalize ------------------------------------------------------------------------------------------------

def find_pair(aws: Any, cluster: str, service: str) -> tuple[dict, dict, list[Forward]]:
    """(blue, green, forwards) of a landed blue-green deploy, from either service's name: the forwards that
    split between the two services' target groups, blue being the one at weight 0."""
    from shine_ops.errors import UsageError

    found = aws.call("ecs", "DescribeServices", cluster=cluster, services=[service]).get("services", [])
    me = next((s for s in found if s.get("status") == "ACTIVE"), None)
    if me is None:
        raise UsageError(f"service {cluster}/{service} not found")
    my_tgs = [m["targetGroupArn"] for m in me.get("loadBalancers", []) if m.get("targetGroupArn")]
    if not my_tgs:
        raise UsageError(f"{cluster}/{service} is behind no target group: nothing to finalize")
    forwards = find_forwards(aws, my_tgs[0])
    split = [(f, forward_weights(a)) for f in forwards for a in f.actions if len(forward_weights(a)) == 2
             and my_tgs[0] in forward_weights(a)]
    if not split:
        raise UsageError(f"no blue-green deploy of {cluster}/{service} to finalize (no listener splits traffic "
                         f"between it and another target group)")
    weights = split[0][1]
    other_tg = next(a for a in weights if a != my_tgs[0])
    blue_tg, green_tg = (my_tgs[0], other_tg) if weights[my_tgs[0]] == 0 else (other_tg, my_tgs[0])
    if weights[blue_tg] != 0:
        raise UsageError(f"the deploy of {cluster}/{service} has not landed (weights "
                         f"{', '.join(str(w) for w in weights.values())})", hint="roll it back with shine-ops rollback")
    from shine_ops.topology.account import cluster_services

    others = cluster_services(aws, cluster)
    by_tg = {m.get("targetGroupArn"): s for s in others if s.get("status") == "ACTIVE" for m in s.get("loadBalancers", [])}
    blue, green = by_tg.get(blue_tg), by_tg.get(green_tg)
    if blue is None or green is None:
        raise UsageError(f"cannot tell the blue and green services of {cluster}/{service} apart")
    forwards = [f for f in forwards if any(blue_tg in forward_weights(a) for a in f.actions)]
    return blue, green, forwards


def finalize(aws: Any, journal: Any, *, who: str | None, cluster: str, service: str,
             say: Callable[[str], None]) -> DeployResult:
    """Green alone behind the listeners, blue scaled to 0 and deleted (its target group kept: see below)."""
    import datetime as dt
    import uuid

    blue, green, forwards = find_pair(aws, cluster, service)
    blue_tg = next(m["targetGroupArn"] for m in blue["loadBalancers"] if m.get("targetGroupArn"))
    green_tg = next(m["targetGroupArn"] for m in green["loadBalancers"] if m.get("targetGroupArn"))
    apply_id = f"d{dt.datetime.now(dt.timezone.utc).strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
    journal.start_apply(apply_id, plan_id="", plan_hash="", kind="deploy", who=who, account=None,
                        region=aws.region, endpoint=aws.options.endpoint_url,
                        target={"service": f"{cluster}/{blue['serviceName']}", "strategy": "blue-green",
                                "finalize": f"{cluster}/{green['serviceName']}"})
    j = Journaled(aws, journal, apply_id)
    try:
        for f in forwards:
            after = only(f.actions, blue_tg, green_tg)
            j.do("finalize-listener", f.arn, f"{f.label}: forward to {green_tg.split('/')[-2]} alone",
                 f.call(after), before={"actions": f.actions}, after={"actions": after}, inverse=[f.call(f.actions)],
                 probe=f.probe(f.actions))
        say(f"listeners forward to {green_tg.split('/')[-2]} alone")
        name, desired = blue["serviceName"], int(blue.get("desiredCount") or 0)
        j.do("finalize-scale-0", f"{cluster}/{name}", f"scale {cluster}/{name} (blue) to 0",
             ApiCall("ecs", "UpdateService", {"cluster": cluster, "service": name, "desiredCount": 0}),
             before={"desiredCount": desired}, after={"desiredCount": 0},
             inverse=[ApiCall("ecs", "UpdateService", {"cluster": cluster, "service": name, "desiredCount": desired})])
        recreate = service_params(blue, cluster, name, blue["taskDefinition"], blue_tg, blue_tg)
        j.do("finalize-delete", f"{cluster}/{name}", f"delete {cluster}/{name} (blue)",
             ApiCall("ecs", "DeleteService", {"cluster": cluster, "service": name, "force": True}),
             before={"status": "ACTIVE"}, after={"status": "INACTIVE"}, inverse=[ApiCall("ecs", "CreateService", recreate)])
        say(f"scaled {cluster}/{name} to 0 and deleted it")
        notes = [f"{cluster}/{green['serviceName']} alone serves the traffic; {cluster}/{name} deleted"]
        # Blue's target group is kept: deleting it would give a rolled-back finalize a new ARN that the listener's
        # and the service's inverses do not name. Nothing forwards to it any more, so the tortoise audit reports it
        # (tg.orphaned) and its careful cleanup deletes it, saved first, once the team is sure.
        tg_name = blue_tg.split("/")[-2]
        notes.append(f"target group {tg_name} kept so this finalize can be rolled back; once sure, delete it with: "
                     "shine-ops fix tortoise --only tg.delete-orphaned --allow-delete")
    except Exception as exc:
        journal.finish_apply(apply_id, "failed", note=f"{type(exc).__name__}: {exc}"[:500])
        raise
    journal.finish_apply(apply_id, "applied", note="; ".join(notes)[:500])
    return DeployResult("landed", revision=green.get("taskDefinition"), notes=notes, apply_id=apply_id)

