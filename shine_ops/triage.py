"""On-call triage: from a symptom to the first broken link, with the context an engineer gathers by hand.

The decision tree is an ordering of the snail-trail checks per symptom (NOTE-symptoms: the same symptom has
several causes). The diagnosis is the ordinary one (collect once, pure checks); triage then reads context the
checks do not need: service events, stopped tasks, the newest log lines, the last hour of load-balancer
metrics, and what changed recently on the path. Each context read is optional: a failure is reported, never
fatal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

from shine_ops.fixes import command_for

SYMPTOMS: dict[str, list[str]] = {
    "504": ["dns.record-exists", "dns.points-to-service-alb", "dns.resolves-to-alb", "alb.active",
            "listener.routes-to-service", "sg.alb-to-task-ingress", "sg.alb-egress-to-task", "nacl.alb-to-task",
            "tg.targets-registered", "tg.port-matches-container", "alb.idle-timeout-covers-latency",
            "tg.targets-healthy", "smoke.health"],
    "502": ["tg.port-matches-container", "ecs.port-env-matches-container", "ecs.lb-container-matches-taskdef",
            "ecs.tasks-not-crashing", "tg.health-check-matches-app", "tg.targets-healthy", "smoke.health"],
    "503": ["listener.routes-to-service", "ecs.service-running", "tg.targets-registered", "tg.targets-healthy",
            "ecs.tasks-not-crashing", "smoke.health"],
    "unhealthy-targets": ["sg.alb-to-task-ingress", "nacl.alb-to-task", "tg.port-matches-container",
                          "ecs.port-env-matches-container", "tg.health-check-matches-app",
                          "ecs.grace-period-covers-startup", "ecs.tasks-not-crashing", "tg.targets-healthy"],
    "restarting": ["ecs.tasks-not-crashing", "ecs.grace-period-covers-startup", "tg.health-check-matches-app",
                   "ecs.port-env-matches-container", "tg.targets-healthy", "ecs.service-running"],
    "dns": ["dns.record-exists", "dns.points-to-service-alb", "dns.resolves-to-alb", "listener.https-certificate"],
    "cors": ["cors.allows-frontend-origin", "smoke.health", "listener.https-certificate"],
}


@dataclass
class Triage:
    symptom: str
    first: Any | None  # the first broken link (a Finding) in the symptom's order
    considered: list[str]
    context: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self, report: Any) -> dict[str, Any]:
        return {"schema": "shine-ops.triage/v1", "symptom": self.symptom,
                "first_broken_link": self.first.to_json() if self.first else None,
                "fix_command": fix_command(self.first), "considered": self.considered,
                "context": self.context, "report": report.to_json()}


def fix_command(finding: Any | None) -> str | None:
    return command_for(finding.fix) if finding is not None and finding.fix else None


def first_broken(report: Any, symptom: str) -> Any | None:
    by_id = {f.check: f for f in report.findings}
    for check in SYMPTOMS[symptom]:
        f = by_id.get(check)
        if f is not None and f.status == "fail" and not f.suppressed:
            return f
    roots = report.root_causes  # nothing on the symptom's list: the general root cause
    return by_id[roots[0]] if roots else None


def gather_context(aws: Any, report: Any, step: Callable[[str], None] = lambda _m: None,
                   now: dt.datetime | None = None) -> tuple[dict[str, Any], list[str]]:
    snap, path = report.snapshot, report.request_path
    svc = path.service if path else None
    now = now or dt.datetime.now(dt.timezone.utc)
    ctx: dict[str, Any] = {}
    notes: list[str] = []

    def guarded(name: str, fn: Callable[[], Any]) -> None:
        step(name)
        try:
            ctx[name] = fn()
        except Exception as exc:  # noqa: BLE001 - context is optional; say why it is missing
            ctx[name] = None
            notes.append(f"{name}: not available: {unavailable_words(exc)}")
            ctx.setdefault("unavailable", {})[name] = error_evidence(exc)

    def events() -> list[dict]:
        return [{"at": str(e.get("createdAt")), "message": e.get("message")} for e in (svc.events if svc else [])[:8]]

    def stopped() -> list[dict]:
        out = []
        for t in snap.tasks.values():
            if t.last_status != "STOPPED" or (svc and t.group not in (None, f"service:{svc.name}")):
                continue
            out.append({"task": t.arn.split("/")[-1], "stopped_reason": t.stopped_reason,
                        "stop_code": t.raw.get("stopCode"),
                        "containers": [{"name": c.get("name"), "exit_code": c.get("exitCode"),
                                        "reason": c.get("reason")} for c in t.raw.get("containers", [])]})
        return out[:10]

    def logs() -> list[str]:
        td = path.task_definition(snap) if path else None
        groups = sorted({(c.raw.get("logConfiguration") or {}).get("options", {}).get("awslogs-group")
                         for c in (td.containers if td else [])} - {None})
        lines: list[str] = []
        for g in groups:
            resp = aws.call_quick("logs", "FilterLogEvents", logGroupName=g, limit=50,
                                  startTime=int((now - dt.timedelta(hours=1)).timestamp() * 1000))
            lines += [f"{g} {e.get('logStreamName', '')}: {e.get('message', '').rstrip()}"
                      for e in resp.get("events", [])]
        return lines[-20:]

    def metrics() -> dict[str, Any]:
        from shine_ops.topology.metrics import MetricQuery, read_lb_metrics

        queries = [MetricQuery("HTTPCode_ELB_5XX_Count", "Sum"), MetricQuery("HTTPCode_Target_5XX_Count", "Sum"),
                   MetricQuery("TargetResponseTime", "Average")]
        out: dict[str, Any] = {}
        for arn in (path.path_lb_arns(snap) if path else []):
            lb = snap.load_balancers[arn]
            # a minute past now: the newest datapoint may carry this very second
            got = read_lb_metrics(aws, arn, queries, start=now - dt.timedelta(hours=1),
                                  end=now + dt.timedelta(minutes=1), quick=True)
            out[lb.name] = {q.metric: [{"at": str(at), q.stat.lower(): value} for at, value in got[q]]
                            for q in queries}
        return out

    def changes() -> dict[str, Any]:
        out: dict[str, Any] = {}
        if svc:
            out["deployments"] = [{"status": d.get("status"), "task_definition": d.get("taskDefinition", "").split("/")[-1],
                                   "rollout": d.get("rolloutState"), "created": str(d.get("createdAt"))}
                                  for d in svc.raw.get("deployments", [])]
            td = path.task_definition(snap)
            if td:
                arns = aws.call_quick("ecs", "ListTaskDefinitions", familyPrefix=td.family, sort="DESC",
                                      maxResults=5).get("taskDefinitionArns", [])
                out["task_definition_revisions"] = [a.split("/")[-1] for a in arns]
        try:
            names = [n for n in ([svc.name] if svc else []) + [snap.load_balancers[a].name
                                                                 for a in (path.path_lb_arns(snap) if path else [])]]
            trail = []
            for name in names[:3]:
                resp = aws.call_quick("cloudtrail", "LookupEvents", LookupAttributes=[
                    {"AttributeKey": "ResourceName", "AttributeValue": name}], MaxResults=10,
                    StartTime=now - dt.timedelta(days=1), EndTime=now)
                trail += [{"at": str(e.get("EventTime")), "event": e.get("EventName"), "who": e.get("Username"),
                           "resource": name} for e in resp.get("Events", [])]
            out["cloudtrail"] = sorted(trail, key=lambda e: e["at"], reverse=True)[:10]
        except Exception as exc:  # noqa: BLE001 - not every account records CloudTrail; emulators may not
            out["cloudtrail"] = None
            notes.append(f"cloudtrail: not available: {unavailable_words(exc)}")
            out["cloudtrail_unavailable"] = error_evidence(exc)
        return out

    guarded("service_events", events)
    guarded("stopped_tasks", stopped)
    guarded("log_lines", logs)
    guarded("load_balancer_metrics", metrics)
    guarded("recent_changes", changes)
    return ctx, notes


def unavailable_words(exc: BaseException) -> str:
    """Why a piece of context could not be read, in our words: never the endpoint's raw answer (an emulator
    without CloudTrail answers HTTP 500 with a web page, ``500: <!doctype html>...``)."""
    from shine_ops.errors import AwsCallError, EndpointUnreachable

    if isinstance(exc, AwsCallError):
        message = (exc.aws_message or "").lstrip().lower()
        if exc.access_denied:
            return f"{exc.operation} was denied (grant {exc.iam_action or 'that action'} to read it)"
        if message.startswith(("<!doctype", "<html")):
            return (f"this endpoint does not offer {exc.operation} (it answered {exc.code} with a web page, not an "
                    "AWS response)")
        if exc.code in ("404", "NotImplemented", "InvalidAction", "UnknownOperationException"):
            return f"this endpoint does not offer {exc.operation} ({exc.code})"
        if exc.throttled:
            return f"{exc.operation} was still throttled after every retry"
        if exc.code.endswith(("NotFoundException", "NotFound")):
            return f"{exc.operation} found nothing to read ({exc.code})"
        return f"{exc.operation} failed ({exc.code})"
    if isinstance(exc, EndpointUnreachable):
        return "the endpoint could not be reached"
    return f"it could not be read ({type(exc).__name__})"


def error_evidence(exc: BaseException) -> dict[str, Any]:
    """The underlying error kept beside the words: its class, and its text (shortened, first line)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    out: dict[str, Any] = {"error_class": type(exc).__name__, "error": text[:300]}
    code = getattr(exc, "code", None)
    if code:
        out["code"] = code
    return out
