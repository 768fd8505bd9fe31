"""The blue-green deploy: create green, attach it at weight 0, shift traffic in gated steps; on a failed gate
roll back what was done (listeners first, at once: the oldest inverse of each listener restores it exactly).

Each mutating call is a ``Change`` emitted to a run of the change runner; what it made comes back as a
``Done`` (typed), so the listener changes are kept per listener ARN, not as ids glued into strings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from shine_ops.bluegreen.direct import Gates, failed_sentence, failing
from shine_ops.bluegreen.forwards import Forward, find_forwards, refuse_split_forwards, weighted
from shine_ops.bluegreen.green import (describe_status, green_status, is_steady, remove_service, service_params,
                                       stopped_evidence, tg_params, wait_green)
from shine_ops.bluegreen.names import green_service_name, green_tg_name
from shine_ops.changes import Done, Run
from shine_ops.deploy import DeployResult
from shine_ops.engine.finding import Finding
from shine_ops.fixes import ApiCall, Change, Probe, ref

DEFAULT_STEPS = (10, 50, 100)
REGISTER = "deploy#register"


def by_resource(row: Any) -> str:
    """Rollback cover of a blue-green deploy: the oldest change to a resource undoes the newer ones (the first
    listener change puts back the original actions; deleting the created service undoes its later updates)."""
    return row["resource"]


def blue_green(aws: Any, journal: Any, *, who: str | None, report: Any, new_td: dict, gates: Gates,
               say: Callable[[str], None], steps: tuple[int, ...] = DEFAULT_STEPS, deadline_s: float = 300.0,
               watch: Callable[[dict], None] | None = None) -> DeployResult:
    """Create green beside blue, shift traffic to it in gated steps; on any failed gate shift everything back
    and remove green. Landed means all traffic on green, blue kept at weight 0 until ``--finalize``."""
    from shine_ops.changes import ChangeRunner, ids
    from shine_ops.errors import UsageError

    svc = report.request_path.service
    blue = aws.call("ecs", "DescribeServices", cluster=svc.cluster_name, services=[svc.name])["services"][0]
    blue_tg_arn = next((m["targetGroupArn"] for m in blue.get("loadBalancers", []) if m.get("targetGroupArn")), None)
    if blue_tg_arn is None:
        raise UsageError(f"{svc.key} is behind no target group", hint="blue-green needs one; use --strategy rolling")
    forwards = find_forwards(aws, blue_tg_arn)
    refuse_split_forwards(forwards, blue_tg_arn, svc.key)
    green_name = green_service_name(svc.name)
    taken = aws.call("ecs", "DescribeServices", cluster=svc.cluster_name, services=[green_name]).get("services", [])
    if any(s.get("status") == "ACTIVE" for s in taken):
        raise UsageError(f"service {svc.cluster_name}/{green_name} already exists",
                         hint="finalize or roll back the deploy that created it")
    run = ChangeRunner(aws, journal, who=who).begin(
        ids.DEPLOY, account=report.snapshot.account, region=report.snapshot.region,
        target={"service": svc.key, "from": svc.task_definition, "strategy": "blue-green",
                "green_service": green_name, "steps": list(steps)})
    deploy = _Deploy(aws, run, svc, blue, blue_tg_arn, forwards, green_name, new_td, gates, say, steps, deadline_s,
                     watch)
    try:
        result = deploy.go()
    except Exception as exc:
        left = deploy.abort()  # an API call failed half-way: put the listeners back and remove what was created
        run.finish("failed", note=(f"{type(exc).__name__}: {exc}" + (
            f"; left behind: {'; '.join(left)}" if left else "; listeners restored, green removed"))[:500])
        raise
    result.apply_id = run.apply_id
    return result


@dataclass
class _Deploy:
    aws: Any
    run: Run
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
    green_tg_name: str = ""
    td_arn: str = ""
    weights: dict[str, list[Done]] = field(default_factory=dict)  # forward ARN -> its listener/rule changes
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
            self.run.finish("applied", note=(
                f"all traffic on {self.green_name}; gates passed: {', '.join(self.passed)}")[:500])
            return DeployResult("landed", revision=self.td_arn, notes=self._landed_notes())
        return self._shift_back(why)

    def _do(self, key: str, resource: str, description: str, call: ApiCall, *, before: dict, after: dict,
            inverse: list[ApiCall], probe: Probe | None = None, results: dict[str, str] | None = None) -> Done:
        return self.run.do(Change(key=f"deploy#{key}", fix="deploy", resource=resource, description=description,
                                  call=call, before=before, after=after, inverse=inverse, probe=probe,
                                  results=results or {}))

    def _create_green(self) -> None:
        tg = self.aws.call("elbv2", "DescribeTargetGroups", TargetGroupArns=[self.blue_tg])["TargetGroups"][0]
        family = self.new_td["family"]
        reg = self._do("register", family, f"register a new revision of {family}",
                       ApiCall("ecs", "RegisterTaskDefinition", self.new_td), before={}, after={},
                       inverse=[ApiCall("ecs", "DeregisterTaskDefinition",
                                        {"taskDefinition": ref(REGISTER, "taskDefinitionArn")})],
                       results={"taskDefinitionArn": "taskDefinition.taskDefinitionArn",
                                "revision": "taskDefinition.revision"})
        self.td_arn = reg["taskDefinitionArn"]
        self.say(f"registered {self.td_arn.split('/')[-1]}")
        params = tg_params(tg, green_tg_name(tg["TargetGroupName"], reg["revision"]))
        made = self._do("green-tg", params["Name"], f"create the green target group {params['Name']} "
                        f"(copy of {tg['TargetGroupName']})", ApiCall("elbv2", "CreateTargetGroup", params),
                        before={}, after={"TargetGroupName": params["Name"]},
                        inverse=[ApiCall("elbv2", "DeleteTargetGroup",
                                         {"TargetGroupArn": ref("deploy#green-tg", "TargetGroupArn")})],
                        results={"TargetGroupArn": "TargetGroups[0].TargetGroupArn"})
        self.green_tg, self.green_tg_name = made["TargetGroupArn"], params["Name"]
        self.say(f"created target group {params['Name']}")
        sp = service_params(self.blue, self.svc.cluster_name, self.green_name, self.td_arn, self.green_tg, self.blue_tg)
        cluster = self.svc.cluster_name
        self._do("green-service", f"{cluster}/{self.green_name}",
                 f"create {cluster}/{self.green_name} on {self.td_arn.split('/')[-1]} behind {params['Name']}",
                 ApiCall("ecs", "CreateService", sp), before={}, after={"desiredCount": sp["desiredCount"]},
                 inverse=remove_service(cluster, self.green_name),
                 results={"serviceArn": "service.serviceArn",
                          "grace": "service.healthCheckGracePeriodSeconds"})
        grace = sp.get("healthCheckGracePeriodSeconds")
        if grace is not None and self.run.results["deploy#green-service"]["grace"] != grace:
            # some endpoints (moto) ignore the grace period on CreateService: set it as AWS would have
            self._do("green-grace", f"{cluster}/{self.green_name}", f"{cluster}/{self.green_name}: grace period "
                     f"{grace} s, as blue", ApiCall("ecs", "UpdateService", {
                         "cluster": cluster, "service": self.green_name, "healthCheckGracePeriodSeconds": grace}),
                     before={"healthCheckGracePeriodSeconds": None}, after={"healthCheckGracePeriodSeconds": grace},
                     inverse=[ApiCall("ecs", "UpdateService", {"cluster": cluster, "service": self.green_name,
                                                              "healthCheckGracePeriodSeconds": 0})])
        self.say(f"created service {cluster}/{self.green_name} (desired {sp['desiredCount']})")

    def _set_weights(self, pct: int, key: str) -> None:
        """One ModifyListener/ModifyRule per forward; the inverse puts back what was there before."""
        for f in self.forwards:
            first = not self.weights.get(f.arn)
            before = f.actions if first else weighted(f.actions, self.blue_tg, self.green_tg, self.pct)
            after = weighted(f.actions, self.blue_tg, self.green_tg, pct)
            done = self._do(key, f.arn, f"{f.label}: blue {100 - pct} / green {pct}", f.call(after),
                            before={"weights": {"blue": 100 - self.pct, "green": self.pct}} if not first else
                            {"actions": f.actions}, after={"weights": {"blue": 100 - pct, "green": pct}},
                            inverse=[f.call(before)], probe=f.probe(f.actions) if first else None)
            self.weights.setdefault(f.arn, []).append(done)
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

        def tick(st: dict) -> None:
            self.view(st)

        end = time.monotonic() + self.deadline_s
        ok, st = wait_green(self.aws, self.svc.cluster_name, self.green_name, self.td_arn, self.green_tg,
                            self.deadline_s, tick)
        if not ok and st.get("failure"):  # a start that cannot succeed: no use waiting out the deadline
            return False, f"gate {gate}: green cannot become steady: {st['failure']}"
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
            return False, failed_sentence(gate, bad)
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
            return False, failed_sentence(name, bad)
        self.passed.append(name)
        self.say(f"gate {name} passed (weights blue {100 - self.pct} / green {self.pct})")
        return True, ""

    def _undo(self, reason: str) -> tuple[str, list[str]]:
        """Roll back what this deploy did, except registering the revision (kept, unused, for a look at what
        failed; ``rollback APPLY_ID`` deregisters it). Returns (rollback id, problems)."""
        made = [d for d in self.run.done if d.key != REGISTER]
        return self.run.rollback(made, reason[:300], whole=True, cover=by_resource)

    def _shift_back(self, why: str) -> DeployResult:
        """All traffic back to blue at once (the original actions, exactly), then green removed."""
        self.say(f"a gate failed ({why}); shifting all traffic back to blue")
        rb_id, problems = self._undo(why)
        self.pct = 0
        restored = not problems and all(self._actions_of(f) == f.actions for f in self.forwards)
        self.run.finish("rolled_back" if restored else "failed", note=f"{why}; undone by {rb_id}"[:500])
        cluster = self.svc.cluster_name
        notes = [why, f"all traffic back on {self.svc.key}: listener actions "
                      + ("restored exactly" if restored else "NOT as before (check them)"),
                 f"removed {cluster}/{self.green_name} and target group {self.green_tg_name}"]
        notes += [f"not undone: {p}" for p in problems]
        if self.passed:
            notes.insert(1, f"gates passed before: {', '.join(self.passed)}")
        return DeployResult("rolled_back", revision=self.td_arn, notes=notes,
                            findings=[Finding("deploy.blue-green", "Green passes its gates", "fail", "high", why)])

    def abort(self) -> list[str]:
        """After an unexpected error: roll back what was done, each undo journaled, listeners first, then the
        service, then its target group (the order that frees each resource before the next). Returns what
        could not be undone."""
        try:
            return self._undo("the deploy failed half-way")[1]
        except Exception as exc:  # noqa: BLE001 - the original error is what the user must see
            return [f"rollback: {type(exc).__name__}: {exc}"]

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
                f"or undo: shine-ops rollback {self.run.apply_id}"]
