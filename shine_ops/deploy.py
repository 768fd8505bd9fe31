"""Guarded deploys: preflight against the would-be state, roll out, wait, gate on smoke tests, roll back.

The new task definition revision is the current one with only the requested changes. Preflight runs the
checks a deployment can break on a copy of the snapshot whose service points at that would-be revision, so
a deploy that cannot work is refused before anything changes. The rolling strategy emits its two changes
(register the revision, update the service; each with its inverse) to the change runner (``shine_ops.changes``),
so ``history`` shows them, a failed gate is a rollback of the update, and ``rollback`` reverts the deploy.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from shine_ops.engine.finding import Finding
from shine_ops.evaluators.preflight import model_uri
from shine_ops.fixes import ApiCall, Change, Probe, ref
from shine_ops.start_failures import rollout_failure

# Catalogue checks a deployment can break, evaluated on the would-be state (checks/<id>.yaml each).
PREFLIGHT_CHECKS = ["ecs.port-env-matches-container", "ecs.lb-container-matches-taskdef",
                    "tg.port-matches-container", "tg.health-check-matches-app", "ecs.grace-period-covers-startup",
                    "deploy.container-health-matches-tg", "deploy.memory-covers-model"]
# MODEL_URI ("" for the packaged model) -> (its model card, where it was looked for)
LocalCard = Callable[[str], "tuple[dict | None, str]"]
REGISTER_KEYS = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes",
                 "placementConstraints", "requiresCompatibilities", "cpu", "memory", "runtimePlatform",
                 "ephemeralStorage", "pidMode", "ipcMode")


@dataclass
class DeployResult:
    status: str  # landed | refused | rolled_back
    revision: str | None = None
    notes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    apply_id: str | None = None

    @property
    def exit_code(self) -> int:
        return 0 if self.status == "landed" else 1


def would_be(current: dict, service: Any, *, image: str | None, env: dict[str, str], cpu: str | None,
             memory: str | None) -> dict:
    """RegisterTaskDefinition input: the current revision with only the requested changes."""
    new = {k: copy.deepcopy(v) for k, v in current.items() if k in REGISTER_KEYS and v not in (None, [], {})}
    app_name = next((m.container_name for m in service.load_balancers if m.container_name), None)
    for c in new["containerDefinitions"]:
        if app_name is not None and c["name"] != app_name:
            continue
        if image:
            c["image"] = image
        if env:
            merged = {e["name"]: e.get("value", "") for e in c.get("environment", [])}
            merged.update(env)
            c["environment"] = [{"name": k, "value": v} for k, v in merged.items()]
        if app_name is None:
            break
    if cpu:
        new["cpu"] = str(cpu)
    if memory:
        new["memory"] = str(memory)
    return new


def preflight(catalogue: Any, report: Any, settings: Any, new_td: dict, aws: Any = None, *,
              local_card: LocalCard | None = None) -> list[Finding]:
    """The deploy-sensitive checks, evaluated on the would-be state (no AWS call, except reading an S3 model
    card when ``aws`` is given and the would-be ``MODEL_URI`` is an s3:// URI). ``local_card`` reads the card of
    a local or packaged model (``shine_ops.cli.model_cards.reference_service_card``)."""
    from shine_ops.engine.catalogue import Playbook, PlaybookEntry
    from shine_ops.engine.runner import evaluate
    from shine_ops.evaluators import Context
    from shine_ops.topology.model import Service, TaskDefinition

    snap = copy.copy(report.snapshot)
    snap.task_definitions = dict(snap.task_definitions)
    td = TaskDefinition.from_raw({**new_td, "taskDefinitionArn": "would-be", "revision": 0})
    snap.task_definitions["would-be"] = td
    path = copy.copy(report.request_path)
    path.service = Service.from_raw({**path.service.raw, "taskDefinition": "would-be"})
    pb = Playbook("preflight", "", [PlaybookEntry(catalogue.checks[c], catalogue.checks[c].severity,
                                                  catalogue.checks[c].params) for c in PREFLIGHT_CHECKS])
    probes: dict[str, Any] = {}
    uri = model_uri(new_td, path.service)
    if uri or settings.serves_reference_api:  # deploy.memory-covers-model judges the card read here
        card, where = _card_for(uri, aws, local_card)
        probes["model_card"] = {"card": card, "where": where}
    return evaluate(pb, Context(snapshot=snap, path=path, settings=settings, probes=probes))


def _card_for(model_uri: str, aws: Any, local_card: LocalCard | None = None) -> tuple[dict | None, str]:
    """(the model card, where it was looked for). The object ``<key stem>.card.json`` in S3; for a local file or
    the packaged model (MODEL_URI unset) ``local_card``, the reference service's own rules."""
    import json
    from pathlib import PurePosixPath

    if model_uri.startswith("s3://"):
        bucket, _, key = model_uri[5:].partition("/")
        stem = str(PurePosixPath(key).with_suffix("")) if PurePosixPath(key).suffix else key
        where = f"s3://{bucket}/{stem}.card.json"
        if aws is None:
            return None, where
        from shine_ops.errors import ShineOpsError

        try:
            body = aws.call("s3", "GetObject", Bucket=bucket, Key=f"{stem}.card.json")["Body"].read()
            return json.loads(body), where
        except (ShineOpsError, ValueError):
            return None, where
    if model_uri and "://" in model_uri and not model_uri.startswith("file://"):
        return None, model_uri
    if local_card is None:  # this layer does not know the reference service: its reader is passed in
        return None, f"the model card of {model_uri or 'the packaged model'} (no reader of local model cards given)"
    return local_card(model_uri)


def roll_out(aws: Any, journal: Any, *, who: str | None, report: Any, new_td: dict, gates: Callable[[], list[Finding]],
             say: Callable[[str], None], deadline_s: float = 300.0,
             watch: Callable[[dict], None] | None = None) -> DeployResult:
    """The rolling strategy: register, update the service (two changes emitted to the change runner), wait for
    steady target health, run the gates; a failed gate is a rollback of the update (its journaled inverse)."""
    from shine_ops.changes import ChangeRunner, ids

    svc = report.request_path.service
    old_td = svc.task_definition
    run = ChangeRunner(aws, journal, who=who).begin(ids.DEPLOY, account=report.snapshot.account,
                                                    region=report.snapshot.region,
                                                    target={"service": svc.key, "from": old_td})
    try:
        return _roll(aws, run, svc, old_td, new_td, gates, say, deadline_s, watch)
    except Exception as exc:
        run.finish("failed", note=f"{type(exc).__name__}: {exc}"[:500])
        raise


def rolling_changes(svc: Any, new_td: dict) -> tuple[Change, Change]:
    """The two changes of a rolling deploy: register the revision, point the service at it (forcing a new
    deployment). Each inverse names what the call made or what was there before."""
    old_td = svc.task_definition
    new_arn = ref("deploy#register", "taskDefinitionArn")
    reg = Change(key="deploy#register", fix="deploy", resource=new_td["family"],
                 description=f"register a new revision of {new_td['family']}",
                 call=ApiCall("ecs", "RegisterTaskDefinition", new_td), before={}, after={},
                 results={"taskDefinitionArn": "taskDefinition.taskDefinitionArn"},
                 inverse=[ApiCall("ecs", "DeregisterTaskDefinition", {"taskDefinition": new_arn})])
    upd = Change(key="deploy#update", fix="deploy", resource=svc.arn, description="",
                 call=ApiCall("ecs", "UpdateService", {"cluster": svc.cluster_name, "service": svc.name,
                                                       "taskDefinition": new_arn, "forceNewDeployment": True}),
                 before={"taskDefinition": old_td}, after={"taskDefinition": new_arn},
                 inverse=[ApiCall("ecs", "UpdateService", {"cluster": svc.cluster_name, "service": svc.name,
                                                           "taskDefinition": old_td, "forceNewDeployment": True})],
                 probe=Probe(ApiCall("ecs", "DescribeServices", {"cluster": svc.cluster_name, "services": [svc.name]}),
                             "services[0].taskDefinition", old_td))
    return reg, upd


def _roll(aws: Any, run: Any, svc: Any, old_td: str, new_td: dict, gates: Callable[[], list[Finding]],
          say: Callable[[str], None], deadline_s: float, watch: Callable[[dict], None] | None) -> DeployResult:
    from dataclasses import replace

    reg, upd = rolling_changes(svc, new_td)
    new_arn = run.do(reg)["taskDefinitionArn"]
    say(f"registered {new_arn.split('/')[-1]}")
    # the description and the journaled "after" name the revision the register call made
    updated = run.do(replace(upd, description=f"{svc.key}: {old_td.split('/')[-1]} -> {new_arn.split('/')[-1]}",
                             after={"taskDefinition": new_arn}))
    say(f"updated {svc.key} to {new_arn.split('/')[-1]}; waiting for it to be steady")
    steady, why = wait_steady(aws, svc, new_arn, deadline_s, watch)
    failed = [] if steady else [Finding("deploy.steady", "The new revision becomes steady", "fail", "high", why)]
    if steady:
        failed = [f for f in gates() if f.status in ("fail", "warn", "error") and f.check.startswith("smoke.")]
    if not failed:
        run.finish("applied")
        return DeployResult("landed", revision=new_arn, apply_id=run.apply_id,
                            notes=[f"{svc.key} runs {new_arn.split('/')[-1]} and passed its gates"])
    say("a gate failed: rolling back to " + old_td.split("/")[-1])
    # the update's inverse puts the old revision back; the new revision stays registered (``rollback`` of this
    # apply deregisters it), as a blue-green deploy keeps it
    _rb, problems = run.rollback([updated], "; ".join(f.summary for f in failed)[:300], whole=True)
    back, why_back = wait_steady(aws, svc, old_td, deadline_s, watch)
    if problems and back:
        back, why_back = False, "; ".join(problems)
    run.finish("rolled_back" if back else "failed",
               note=("; ".join(f.summary for f in failed) + ("" if back else f"; rollback not steady: "
                                                              f"{why_back}"))[:500])
    notes = [f"{f.check}: {f.summary}" for f in failed]
    notes.append(f"rolled back to {old_td.split('/')[-1]}: " + ("steady again" if back else f"NOT steady ({why_back})"))
    return DeployResult("rolled_back", revision=new_arn, findings=failed, notes=notes, apply_id=run.apply_id)


def wait_steady(aws: Any, svc: Any, td_arn: str, deadline_s: float,
                watch: Callable[[dict], None] | None = None) -> tuple[bool, str]:
    """Until the service runs ``td_arn`` with running == desired and every target healthy, or the deadline.

    moto keeps ``deployments[0]`` on the old revision and has no service-deployments API, so we follow the
    service's ``taskDefinition`` and the target health (which the sandbox computes from the live processes)."""
    end = time.monotonic() + deadline_s
    since = datetime.now(timezone.utc) - timedelta(seconds=60)  # this rollout's tasks (clock skew allowed)
    last = "no answer yet"
    while time.monotonic() < end:
        s = aws.call("ecs", "DescribeServices", cluster=svc.cluster_name, services=[svc.name])["services"][0]
        health = []
        for tg in s.get("loadBalancers", []):
            health += aws.call("elbv2", "DescribeTargetHealth", TargetGroupArn=tg["targetGroupArn"]).get(
                "TargetHealthDescriptions", [])
        arns = aws.call("ecs", "ListTasks", cluster=svc.cluster_name, serviceName=svc.name).get("taskArns", [])
        tasks = aws.call("ecs", "DescribeTasks", cluster=svc.cluster_name, tasks=arns).get("tasks", []) if arns else []
        tasks = [t for t in tasks if t.get("group") in (None, f"service:{svc.name}") and t.get("lastStatus") == "RUNNING"]
        on_new = [t for t in tasks if t.get("taskDefinitionArn") == td_arn]
        states = [h["TargetHealth"].get("State") for h in health]
        status = {"taskDefinition": s.get("taskDefinition", "").split("/")[-1], "running": s.get("runningCount"),
                  "desired": s.get("desiredCount"), "targets": states,
                  "events": [e.get("message") for e in s.get("events", [])[:3]]}
        if watch:
            watch(status)
        reasons = sorted({h["TargetHealth"].get("Description") or h["TargetHealth"].get("Reason") or ""
                          for h in health if h["TargetHealth"].get("State") != "healthy"})
        last = (f"{status['taskDefinition']}: {status['running']}/{status['desired']} running, "
                f"{len(on_new)}/{len(tasks)} tasks on it, targets "
                f"{', '.join(states) or 'none'}" + (f" ({'; '.join(reasons)})" if reasons else ""))
        status["tasks_on_revision"] = f"{len(on_new)}/{len(tasks)}"
        if (s.get("taskDefinition") == td_arn and s.get("runningCount") == s.get("desiredCount")
                and tasks and len(on_new) == len(tasks) and states and all(x == "healthy" for x in states)):
            return True, last
        failure = rollout_failure(aws, s, svc.cluster_name, svc.name, td_arn, since)
        if failure:  # ECS's circuit breaker would stop here too: waiting cannot make it steady
            return False, f"{failure} ({last})"
        time.sleep(1.0)
    return False, f"not steady after {deadline_s:.0f} s: {last}"
