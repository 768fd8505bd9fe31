"""Evidence the ECS checks read beyond a service's counts (pure: no AWS calls).

- Which revisions run and which one rolls out (docs/aws-behaviour.md section 5): mid-rollout the PRIMARY revision
  may run no task while an older one serves, so the task-definition checks judge both and say which is which.
- Whether ECS killed tasks that were still starting (section 2): stopped tasks' reasons and lifetimes, service
  events, the target groups' health-check timing and the container's own ``healthCheck``. Without a declared
  ``startup_budget_s`` this is all the grace-period check may judge by.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shine_ops.topology.model import Deployment, Service, TaskDefinition

# AWS's own defaults for an HTTP target group (docs/aws-behaviour.md section 4), used only when the group itself is not in
# the snapshot: they widen nothing, they only place the moment ECS can first act on failed health checks.
AWS_DEFAULT_INTERVAL_S = 30
AWS_DEFAULT_UNHEALTHY_THRESHOLD = 2

_ELB_KILL = re.compile(r"failed (elb|load balancer) health checks", re.IGNORECASE)
_EVENT_UNHEALTHY = re.compile(r"is unhealthy in \(?target-group", re.IGNORECASE)
_EVENT_TASK = re.compile(r"\(task ([0-9a-zA-Z-]+)\)")


def rev(arn: str | None) -> str:
    """``arn:...:task-definition/shine-api:8`` -> ``shine-api:8``."""
    return (arn or "").rsplit("/", 1)[-1] or "?"


# --------------------------------------------------------------------------- revisions
@dataclass
class Revisions:
    """The revisions a task-definition check judges, and the part each one plays."""

    judged: list[TaskDefinition]  # PRIMARY first, then the serving ones
    serving: list[str]  # ARNs of the revisions that run (PRIMARY first)
    primary: TaskDefinition | None
    simulated: bool  # the sandbox set the deployments that say which revision runs

    @property
    def primary_idle(self) -> bool:
        """The PRIMARY revision runs no task while another one serves (a rollout in progress or stuck)."""
        return bool(self.primary is not None and self.serving and self.primary.arn not in self.serving)

    def role(self, td: TaskDefinition) -> str:
        if td.arn in self.serving:
            return "serving"
        if self.primary is not None and td.arn == self.primary.arn:
            return "PRIMARY, rolling out, no task runs it yet" if self.serving else "PRIMARY"
        return "not running"

    def name(self, td: TaskDefinition) -> str:
        """``shine-api:8`` alone when one revision is judged, else with its part: ``shine-api:8 (serving)``."""
        return td.label if len(self.judged) < 2 and not self.primary_idle else f"{td.label} ({self.role(td)})"

    @property
    def note(self) -> str:
        """A sentence for summaries: which revision serves when it is not the PRIMARY one."""
        if not self.primary_idle or self.primary is None:
            return ""
        serving = ", ".join(rev(a) for a in self.serving)
        return (f" The PRIMARY revision {self.primary.label} runs no task yet; {serving} "
                f"serve{'s' if len(self.serving) == 1 else ''}: both judged.")

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {"revisions": {td.label: self.role(td) for td in self.judged}}
        if self.simulated:
            out["simulated"] = True
        return out


def revisions(path: Any, snap: Any) -> Revisions:
    svc: Service | None = path.service
    return Revisions(judged=path.judged_task_definitions(snap), serving=path.serving_task_definition_arns(snap),
                     primary=path.task_definition(snap),
                     simulated=bool(svc and any(d.simulated for d in svc.deployments)))


# --------------------------------------------------------------------------- deployments
def running_by_revision(path: Any, snap: Any) -> Counter:
    """Running tasks per revision ARN: counted from the tasks when they were collected, else the deployments'
    and task sets' own ``runningCount``."""
    svc = path.service
    tasks = path.running_tasks(snap)
    if tasks:
        return Counter(t.task_definition for t in tasks)
    out: Counter = Counter()
    for d in svc.deployments if svc else []:
        if d.status != "INACTIVE":
            out[d.task_definition] += d.running
    for t in svc.task_sets if svc else []:
        out[t.task_definition] += t.running
    return out


def deployment_of(svc: Service, arn: str) -> Deployment | None:
    return next((d for d in svc.deployments if d.task_definition == arn and d.status != "INACTIVE"), None)


def serving_text(path: Any, snap: Any) -> str:
    """``shine-api:7 serves 1/1`` (or ``shine-api:7 runs 2 tasks`` when no deployment names its desired count)."""
    svc = path.service
    counts = running_by_revision(path, snap)
    parts = []
    for arn in path.serving_task_definition_arns(snap):
        dep = deployment_of(svc, arn)
        ts = next((t for t in svc.task_sets if t.task_definition == arn), None)
        want = dep.desired if dep else ts.computed_desired if ts else None
        n = counts.get(arn, 0)
        parts.append(f"{rev(arn)} serves {n}/{want}" if want else f"{rev(arn)} runs {n} task{'s' if n != 1 else ''}")
    return "; ".join(parts)


def rolling_back(d: Deployment) -> bool:
    """The circuit breaker's rollback deployment names itself in its reason."""
    text = d.reason.lower()
    return "rolling back" in text or "rolled back" in text


def deployment_evidence(svc: Service) -> list[dict[str, Any]]:
    return [{"id": d.id, "status": d.status, "task_definition": d.revision, "desired": d.desired, "running": d.running,
             "pending": d.pending, "failed_tasks": d.failed_tasks, "rollout_state": d.rollout_state,
             "rollout_state_reason": d.reason or None} for d in svc.deployments]


def task_set_evidence(svc: Service) -> list[dict[str, Any]]:
    return [{"id": t.id, "status": t.status, "task_definition": t.revision, "computed_desired": t.computed_desired,
             "running": t.running, "pending": t.pending, "stability_status": t.stability_status, "scale": t.scale}
            for t in svc.task_sets]


# --------------------------------------------------------------------------- start-up
def _when(value: Any) -> dt.datetime | None:
    """A timestamp as boto3 (datetime), JSON (ISO text) or the raw API (epoch seconds) gives it."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(float(value), dt.timezone.utc)
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


@dataclass
class StartupEvidence:
    """What the account shows about tasks starting behind the load balancer."""

    grace_s: int
    interval_s: int  # the longest health-check interval of the service's target groups
    unhealthy_threshold: int
    killed_starting: list[dict] = field(default_factory=list)  # stopped for ELB health checks within the window
    killed_earlier: list[dict] = field(default_factory=list)  # ... sooner than the current grace period allows
    elb_stops_other: list[dict] = field(default_factory=list)  # stopped for ELB health checks, not shown starting
    elb_events: list[dict] = field(default_factory=list)  # service events about failed ELB health checks
    running: int = 0
    healthy_targets: int = 0
    health_checks: dict[str, dict] = field(default_factory=dict)  # "rev/container" -> startPeriod, interval, retries

    @property
    def window_s(self) -> int:
        """How long after its start a task killed for failed ELB health checks never passed one that counted:
        ECS counts them from the grace period on; the target turns unhealthy after ``threshold`` failures one
        ``interval`` apart; ECS acts within one more interval."""
        return self.grace_s + self.interval_s * (self.unhealthy_threshold + 1)

    @property
    def earliest_stop_s(self) -> int:
        """The soonest ECS can stop a new task for failed ELB health checks: the grace period, then ``threshold``
        consecutive failures one ``interval`` apart (the first check may come right at registration)."""
        return self.grace_s + self.interval_s * max(0, self.unhealthy_threshold - 1)

    @property
    def start_period_s(self) -> int | None:
        """The longest ``startPeriod`` a container's own health check gives the app (its owner's estimate)."""
        periods = [int(h["startPeriod"]) for h in self.health_checks.values() if h.get("startPeriod")]
        return max(periods) if periods else None

    @property
    def longest_kill_s(self) -> float:
        return max([k["lifetime_s"] for k in self.killed_starting] or [0.0])

    @property
    def health_check_budget(self) -> tuple[int, str] | None:
        """(seconds, why): the time the container's own health check gives the app to become healthy,
        ``startPeriod + interval x retries`` (ECS's defaults for the last two: 30 s and 3), the longest one."""
        best: tuple[int, str] | None = None
        for where, h in self.health_checks.items():
            if not h.get("startPeriod"):
                continue
            start, interval, retries = int(h["startPeriod"]), int(h.get("interval") or 30), int(h.get("retries") or 3)
            total = start + interval * retries
            if best is None or total > best[0]:
                best = (total, f"the healthCheck of {where}: startPeriod {start} s + {interval} s x {retries} retries")
        return best

    def as_dict(self) -> dict[str, Any]:
        return {"killed_while_starting": self.killed_starting,
                "killed_before_the_current_grace_period": self.killed_earlier,
                "elb_health_stops": self.elb_stops_other,
                "elb_health_events": self.elb_events, "running_tasks": self.running,
                "healthy_targets": self.healthy_targets, "start_window_s": self.window_s,
                "earliest_stop_s": self.earliest_stop_s,
                "target_group_interval_s": self.interval_s, "target_group_unhealthy_threshold": self.unhealthy_threshold,
                "container_health_checks": self.health_checks}


def startup_evidence(path: Any, snap: Any, tasks: list, judged: list[TaskDefinition]) -> StartupEvidence:
    """Gather the start-up evidence of ``path.service`` from ``tasks`` (its tasks in the snapshot)."""
    svc: Service = path.service
    tgs = [snap.target_groups[a] for a in svc.target_group_arns if a in snap.target_groups]
    interval = max([tg.health_check.interval for tg in tgs if tg.health_check.interval] or [AWS_DEFAULT_INTERVAL_S])
    threshold = max([tg.health_check.unhealthy_threshold for tg in tgs if tg.health_check.unhealthy_threshold]
                    or [AWS_DEFAULT_UNHEALTHY_THRESHOLD])
    ev = StartupEvidence(grace_s=int(svc.grace_period or 0), interval_s=int(interval),
                         unhealthy_threshold=int(threshold))
    ev.running = len([t for t in tasks if t.last_status == "RUNNING"])
    ev.healthy_targets = sum(1 for tg in tgs for t in (tg.targets or []) if t.state == "healthy")
    for td in judged:
        for c in td.containers:
            if c.health_check:
                ev.health_checks[f"{td.label}/{c.name}"] = {k: c.health_check.get(k) for k in
                                                            ("startPeriod", "interval", "retries", "timeout")}
    seen_ids = set()
    for t in tasks:
        if t.last_status != "STOPPED" and t.desired_status != "STOPPED":
            continue
        if not _ELB_KILL.search(t.stopped_reason or ""):
            continue
        started = _when(t.raw.get("startedAt")) or _when(t.raw.get("pullStoppedAt")) or _when(t.raw.get("createdAt"))
        stopped = (_when(t.raw.get("stoppingAt")) or _when(t.raw.get("executionStoppedAt"))
                   or _when(t.raw.get("stoppedAt")))
        lifetime = (stopped - started).total_seconds() if started and stopped else None
        item = {"task": t.arn, "stopped_reason": t.stopped_reason, "started_at": str(started) if started else None,
                "stopped_at": str(stopped) if stopped else None,
                "lifetime_s": round(lifetime, 1) if lifetime is not None else None}
        seen_ids.add(t.arn.rsplit("/", 1)[-1])
        if lifetime is None or lifetime > ev.window_s:
            ev.elb_stops_other.append(item)  # not shown to be starting: it may have served for a while
        elif lifetime < ev.grace_s:
            ev.killed_earlier.append(item)  # ECS ignores ELB health that early now: a shorter grace period's doing
        else:
            ev.killed_starting.append(item)
    for e in svc.events:  # newest first; older ones than the last steady state are history
        msg = str(e.get("message", ""))
        if "reached a steady state" in msg:
            break
        if not (_ELB_KILL.search(msg) or _EVENT_UNHEALTHY.search(msg)):
            continue
        m = _EVENT_TASK.search(msg)
        if m and m.group(1) in seen_ids:
            continue  # the stopped task itself says more (its lifetime)
        ev.elb_events.append({"message": msg, "created_at": str(e.get("createdAt", ""))})
    return ev


def describe_kill(item: dict) -> str:
    """``task 1f2e3d4c stopped 40 s after it started ("Task failed ELB health checks in ...")``."""
    task = item["task"].rsplit("/", 1)[-1][:12]
    return f"task {task} stopped {item['lifetime_s']:.0f} s after it started (\"{item['stopped_reason']}\")"
